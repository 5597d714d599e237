#pragma once
// The current_thread scheduler: one thread, one FIFO run queue.
//
// Moving parts and who owns them
//   local_      FIFO of runnable tasks; only the driver thread (the one inside
//               block_on) touches it.
//   inject_     tasks handed over by other threads (remote spawns, remote
//               wake-ups); drained into local_ every 61 ticks, when local_
//               runs dry, and before parking.
//   registry_   every live spawned task; driver thread only (or the thread
//               that holds driving_ while no block_on runs).
//   driving_    true while some thread drives the scheduler (block_on,
//               shutdown, dump_tasks): the right to touch local_/registry_.
//   driver_     (in the base) I/O and timers: where the driving thread
//               sleeps when nothing is runnable; remote pushes and earlier
//               timers unpark it. Polled without blocking every 61 ticks so a
//               busy loop still fires timers and dispatches I/O.
//
// Tasks make progress only while a thread is inside block_on (Tokio's
// current_thread does the same).
//
// Shutdown protocol
//   1. closed_ = true: from now on spawn() completes new tasks as cancelled,
//      so no task is added after step 3 starts. (Why first: destructors run
//      in step 3 may spawn.)
//   2. Take driving_ (wait for a running block_on to notice the request and
//      do steps 3-4 itself; a task calling shutdown() only leaves the
//      request, since its own frame cannot be destroyed under it).
//   3. Close inject_ and take what it holds, registering queued spawns, so
//      every task is in registry_. (Why: a task that waits on something that
//      never happens is in no queue; the registry is the only way to find it.)
//   4. Destroy every registered task's frame (destructors run: guards
//      release, handles detach), wake its joiner with "cancelled", drop the
//      scheduler's reference. Destructors may wake other tasks; that only
//      touches local_, which is discarded after the registry is empty.

#include "runtime/driver.hpp"
#include "runtime/inject_queue.hpp"
#include "runtime/task_list.hpp"
#include "runtime/task_registry.hpp"

#include <brigade/detail/scheduler.hpp>

#include <condition_variable>
#include <mutex>
#include <string>

namespace brigade::detail {

class current_thread_scheduler final : public scheduler {
 public:
  explicit current_thread_scheduler(runtime_options options);
  ~current_thread_scheduler() override;

  void schedule(task_header* task) noexcept override;
  void spawn(task_header* task) noexcept override;
  void block_on(task_header* root) override;
  void shutdown() noexcept override;
  runtime_metrics metrics() const noexcept override;
  std::string dump_tasks() const override;

 private:
  bool is_driver() const noexcept;
  void accept(task_header* task);
  void refuse(task_header* task) noexcept;
  void run(task_header* task) noexcept;
  task_header* next_task() noexcept;
  void drain_inject() noexcept;
  void serve_requests() noexcept;
  void destroy_all() noexcept;
  bool try_acquire_driving() noexcept;
  void release_driving() noexcept;

  static void bump(atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
    // relaxed: statistics written by the driver only, read by metrics().
    counter.store(counter.load(memory_order_relaxed) + by, memory_order_relaxed);
  }

  task_list local_;
  inject_queue inject_;
  task_registry registry_;
  std::uint64_t tick_ = 0;

  atomic<bool> driving_{false};
  atomic<bool> closed_{false};
  atomic<bool> shutdown_requested_{false};
  bool destroyed_ = false;  // guarded by driving_

  // dump_tasks() from another thread while a block_on runs.
  mutable std::mutex dump_mutex_;
  mutable std::condition_variable dump_cv_;
  mutable atomic<bool> dump_requested_{false};
  mutable bool dump_ready_ = false;
  mutable std::string dump_text_;

  atomic<std::uint64_t> spawned_{0};
  atomic<std::uint64_t> polls_{0};
  atomic<std::uint64_t> parks_{0};
  atomic<std::uint64_t> unparks_{0};
  atomic<std::uint64_t> forced_yields_{0};
  atomic<std::uint64_t> live_{0};
  atomic<std::uint64_t> local_depth_{0};
};

}  // namespace brigade::detail
