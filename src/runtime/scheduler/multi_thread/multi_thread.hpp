#pragma once
// The multi_thread scheduler: N workers with work stealing (DESIGN §3).
//
// Moving parts and who owns them
//   workers_    one per thread; each owns a local_queue (stealable), a LIFO
//               slot and a parker (worker.hpp).
//   inject_     shared queue for tasks from outside the workers (remote
//               spawns and wake-ups, local-queue overflow).
//   idle_       counts of searching/unparked workers and the sleepers list:
//               new work wakes one sleeper only when nobody is searching.
//   shards_     the registry: every live task, one shard per worker under
//               its own lock; a task completed on another worker than its
//               spawn's is handed back through a lock-free list
//               (registry_shard.hpp).
//
// Shutdown protocol
//   1. closed_ = true: spawn() now completes new tasks as cancelled. (Why
//      first: destructors run in step 5 may spawn.)
//   2. shutdown_ = true, then unpark every worker. Each leaves its loop
//      after its current run. (Called from a worker, shutdown() stops here;
//      the runtime's destructor, on a non-worker thread, finishes.)
//   3. Join every worker thread. From here on one thread runs.
//   4. Close the inject queue. Every task is in the registry (spawns register
//      before they are queued), so queues can simply be forgotten.
//   5. Destroy every registered task (destructors run, joiners see
//      cancelled), drop the scheduler's references.

#include "runtime/driver.hpp"
#include "runtime/inject_queue.hpp"
#include "runtime/scheduler/multi_thread/idle.hpp"
#include "runtime/scheduler/multi_thread/registry_shard.hpp"
#include "runtime/scheduler/multi_thread/worker.hpp"
#include "runtime/task_registry.hpp"

#include <brigade/detail/scheduler.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace brigade::detail {

class multi_thread_scheduler final : public scheduler {
 public:
  explicit multi_thread_scheduler(runtime_options options);
  ~multi_thread_scheduler() override;

  void schedule(task_header* task) noexcept override;
  void spawn(task_header* task) noexcept override;
  bool help_join(task_header* target) noexcept override;
  void block_on(task_header* root) override;
  void shutdown() noexcept override;
  runtime_metrics metrics() const noexcept override;
  std::string dump_tasks() const override;

  // ---- for workers ----
  inject_queue& inject() noexcept { return inject_; }
  idle& idle_state() noexcept { return idle_; }
  std::size_t num_workers() const noexcept { return workers_.size(); }
  worker& worker_at(std::size_t i) noexcept { return *workers_[i]; }
  bool is_shutdown() const noexcept { return shutdown_.load(memory_order_acquire); }
  /// Wakes a parked worker if the work just queued needs one.
  void notify_parked() noexcept;
  /// A parked-to-be last searcher: wake someone if any queue holds work.
  void notify_if_work_pending() noexcept;
  /// A task completed: unregister it and drop the scheduler's reference.
  void release_completed(task_header* task) noexcept;
  /// Worker `index` is about to park: settle its registry shard.
  void settle_registry(std::size_t index) noexcept { shards_[index]->settle(); }
  /// The driver (I/O + timers) is held by one worker at a time.
  bool try_acquire_driver() noexcept {
    // acquire: pairs with the release in release_driver(): the previous
    // holder's driver state is visible.
    return !driver_held_.exchange(true, memory_order_acquire);
  }
  void release_driver() noexcept { driver_held_.store(false, memory_order_release); }
  driver& the_driver() noexcept { return *driver_; }
  /// No task can run: every other worker parked, every queue empty.
  bool runtime_idle() noexcept;
  /// The driver holder found the runtime stalled (paused clock).
  void on_stall() noexcept;

 private:
  /// Registers in the shard of the calling worker (or shard 0).
  bool register_task(task_header* task) noexcept;
  /// Takes a task out of its shard; false when someone else already did.
  bool unregister(task_header* task) noexcept;
  void refuse(task_header* task) noexcept;
  void stop_workers() noexcept;
  void destroy_all() noexcept;

  inject_queue inject_;
  idle idle_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::unique_ptr<registry_shard>> shards_;
  std::mutex shutdown_mutex_;
  bool torn_down_ = false;  // guarded by shutdown_mutex_
  atomic<bool> closed_{false};
  atomic<bool> driver_held_{false};
  atomic<bool> shutdown_{false};
  atomic<std::uint64_t> remote_spawned_{0};  // spawns from outside the workers
  atomic<std::uint64_t> unparks_{0};
};

}  // namespace brigade::detail
