#pragma once
// One worker of the multi_thread scheduler: an OS thread with its own run
// queue, LIFO slot and parker.
//
// Finding work, in order (worker.cpp next_task / steal_work)
//   1. Every 61st tick, the shared inject queue first: remote spawns and
//      wake-ups are not starved by a busy local queue.
//   2. The run-next slot: the child the last task is now waiting to join,
//      taken back from the tail of the local queue (help_join) when it could
//      not run nested in the joiner's turn. On the fairness tick it goes
//      back to the queue instead, so a spawn-then-join loop cannot starve
//      the rest of the queue.
//   2b. The LIFO slot: the task this worker just woke (a message's receiver
//      runs right after its sender, on a warm cache). At most 3 LIFO runs in
//      a row, then the slot's task goes to the back of the queue, so two
//      tasks waking each other cannot starve the rest.
//   3. The local queue, then the inject queue.
//   4. Steal half of a random victim's queue (if fewer than half the
//      workers are already searching).
//   5. Park.
//
// Joins run children depth-first (help_join)
//   A task that joins a child still at the tail of this worker's queue (the
//   one it spawned last, not stolen) takes it back and runs it at once,
//   nested in its own turn, as TBB's task_group::wait does: fork-join
//   recursion runs as plain recursion on a warm cache, and idle workers
//   steal the oldest (largest) subtrees from the front. A child at the
//   front of the queue (spawn N, then join them in order) is taken from
//   there the same way: it was next anyway, and the joiner is not
//   suspended and re-polled once per child (the LIFO slot would otherwise
//   run it right after each child: two polls per child instead of one).
//   Limits: nesting at most max_inline_depth deep (native stack), at most
//   max_inline_runs per top-level turn (fairness: the loop, the inject
//   queue and the driver get their turn), never while tracing (a turn
//   inside a turn would overlap spans). Past them the child takes the
//   run-next slot instead.
//
// Shutdown (multi_thread.hpp has the whole protocol): a worker leaves its
// loop when it sees the shutdown flag after a run or a wake-up; tasks left
// in its queues are destroyed by the shutting-down thread after every
// worker has been joined, through the registry.

#include "runtime/park.hpp"
#include "runtime/scheduler/multi_thread/local_queue.hpp"

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/random.hpp>
#include <brigade/detail/scheduler.hpp>

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
  /// Called on this worker's own thread by a task about to wait for `t`:
  /// when `t` is the task pushed last to this worker's queue, or the next
  /// one it would pop, and no stealer claimed it, it leaves the queue and
  /// runs at once, nested in the joiner's turn (true), or, past the nesting
  /// limits, next (the run-next slot; false).
  bool help_join(task_header* t) noexcept;

  local_queue& queue() noexcept { return queue_; }
  parker& thread_parker() noexcept { return parker_; }
  const worker_counters& counters() const noexcept { return counters_; }
  std::size_t index() const noexcept { return index_; }
  bool has_lifo() const noexcept {
    return lifo_.load(memory_order_relaxed) != nullptr ||
           run_next_.load(memory_order_relaxed) != nullptr;
  }

 private:
  void run() noexcept;
  /// The queue is empty: a batch from the inject queue (the first is
  /// returned, the rest queued locally); null when it is empty too.
  task_header* take_inject_share() noexcept;
  task_header* next_task() noexcept;
  task_header* steal_work() noexcept;
  void run_one(task_header* t) noexcept;
  /// run_task plus what its outcome asks of the worker (requeue, release).
  void finish_turn(task_header* t, run_result result) noexcept;
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
  // A joined child taken back from the queue's tail (help_join); filled
  // during a turn, emptied by the next next_task. Owner-only; atomic so
  // has_lifo() may peek.
  atomic<task_header*> run_next_{nullptr};
  // Joined children run nested in the joiner's turn (help_join): how deep
  // the nesting is now, and how many more this top-level turn may run.
  std::uint32_t inline_depth_ = 0;
  std::uint32_t inline_allowance_ = 0;
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
