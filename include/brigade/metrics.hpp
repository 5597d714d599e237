#pragma once

#include <cstddef>
#include <cstdint>

namespace brigade {

/// A snapshot of a runtime's counters (runtime::metrics()). Counters are
/// cumulative since the runtime started; depths and gauges are instantaneous.
/// Reading them is cheap: per-worker counters summed on read.
struct runtime_metrics {
  std::size_t workers = 0;                 ///< threads that run tasks
  std::size_t live_tasks = 0;              ///< spawned and not yet completed
  std::uint64_t spawned = 0;               ///< tasks ever spawned
  std::uint64_t polls = 0;                 ///< task runs (resumes)
  std::uint64_t steals = 0;                ///< tasks taken from another worker
  std::uint64_t parks = 0;                 ///< times a worker went to sleep
  std::uint64_t unparks = 0;               ///< times a sleeping worker was woken
  std::uint64_t budget_forced_yields = 0;  ///< yields forced by the coop budget
  std::size_t inject_queue_depth = 0;      ///< tasks waiting in the shared queue
  std::size_t local_queue_depth = 0;       ///< tasks waiting in worker queues
  std::size_t blocking_threads = 0;        ///< blocking-pool threads alive
  std::size_t blocking_idle = 0;           ///< of which idle
};

}  // namespace brigade
