#pragma once
// One worker of the multi_thread scheduler: an OS thread with its own run
// queue, LIFO slot and parker.
//
// Finding work, in order (worker.cpp next_task / steal_work)
//   1. Every 61st tick, the shared inject queue first: remote spawns and
//      wake-ups are not starved by a busy local queue.
//   2. The LIFO slot: the task this worker just woke (a message's receiver
//      runs right after its sender, on a warm cache). At most 3 LIFO runs in
//      a row, then the slot's task goes to the back of the queue, so two
//      tasks waking each other cannot starve the rest.
//   3. The local queue, then the inject queue.
//   4. Steal half of a random victim's queue (if fewer than half the
//      workers are already searching).
//   5. Park.
//
// Shutdown (multi_thread.hpp has the whole protocol): a worker leaves its
// loop when it sees the shutdown flag after a run or a wake-up; tasks left
// in its queues are destroyed by the shutting-down thread after every
// worker has been joined, through the registry.

#include "runtime/park.hpp"
#include "runtime/scheduler/multi_thread/local_queue.hpp"

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/random.hpp>

#include <cstdint>
#include <thread>

namespace brigade::detail {

class multi_thread_scheduler;

struct worker_counters {
  // Written by the owning worker only (store(load + 1)), read by metrics().
  atomic<std::uint64_t> spawned{0};
  atomic<std::uint64_t> polls{0};
  atomic<std::uint64_t> steals{0};
  atomic<std::uint64_t> parks{0};
  atomic<std::uint64_t> forced_yields{0};
};

class worker {
 public:
  worker(multi_thread_scheduler& sched, std::size_t index) : sched_(sched), index_(index) {}
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start();
  void join();

  /// Called on this worker's own thread by a wake of a task of this runtime.
  void schedule_local(task_header* t) noexcept;
  /// Called on this worker's own thread for a new task.
  void spawn_local(task_header* t) noexcept;

  local_queue& queue() noexcept { return queue_; }
  parker& thread_parker() noexcept { return parker_; }
  const worker_counters& counters() const noexcept { return counters_; }
  std::size_t index() const noexcept { return index_; }
  bool has_lifo() const noexcept { return lifo_.load(memory_order_relaxed) != nullptr; }

 private:
  void run() noexcept;
  /// The queue is empty: a batch from the inject queue (the first is
  /// returned, the rest queued locally); null when it is empty too.
  task_header* take_inject_share() noexcept;
  task_header* next_task() noexcept;
  task_header* steal_work() noexcept;
  void run_one(task_header* t) noexcept;
  void park() noexcept;
  static void bump(atomic<std::uint64_t>& c, std::uint64_t by = 1) noexcept {
    c.store(c.load(memory_order_relaxed) + by, memory_order_relaxed);
  }

  multi_thread_scheduler& sched_;
  const std::size_t index_;
  local_queue queue_;
  // Owner-only in effect; atomic so metrics/idle checks may peek.
  atomic<task_header*> lifo_{nullptr};
  std::uint32_t lifo_runs_ = 0;
  const bool chaos_ = chaos_enabled();  // BRIGADE_CHAOS (detail/random.hpp)
  std::uint64_t tick_ = 0;
  bool searching_ = false;
  parker parker_;
  worker_counters counters_;
  std::thread thread_;
};

/// The worker whose thread is calling, or null.
worker* current_worker() noexcept;

}  // namespace brigade::detail
