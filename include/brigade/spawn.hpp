#pragma once
// Spawning tasks onto the current runtime, and yielding to the scheduler.

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/task.hpp>

#include <brigade/source_location.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace brigade {

namespace detail {

template <class T>
join_handle<T> spawn_on(scheduler& sched, task<T> t, std::string_view name,
                        const source_location& location) {
  if (!t.valid()) throw std::invalid_argument("brigade::spawn: empty task");
  task_header* header = task_header::from_frame(t.release().address());
  prepare_spawn(header, sched, name, location, join_kind::joined);
  sched.spawn(header);
  return join_handle<T>{header};
}

}  // namespace detail

/// Runs `t` concurrently on the current runtime and returns its handle.
///
/// Allocates nothing beyond the task's frame. On a multi_thread runtime the
/// task may run on any worker and move between them. `name` and the spawn
/// location show in dump_tasks(), traces and unhandled-exception reports.
///
/// Thread safety: call from a thread that drives a runtime (inside a task or
/// block_on); from elsewhere use runtime::spawn or runtime_handle::spawn.
/// Throws: std::logic_error outside a runtime; std::invalid_argument for an
/// empty task. On a runtime that is shutting down the task does not run and
/// its handle reports brigade::cancelled.
template <class T>
join_handle<T> spawn(task<T> t, std::string name = {},
                     source_location location = source_location::current()) {
  detail::scheduler* sched = detail::current_scheduler();
  if (sched == nullptr) detail::throw_outside_runtime("brigade::spawn");
  return detail::spawn_on(*sched, std::move(t), name, location);
}

/// Awaitable that lets other tasks run: the current task goes to the back of
/// its run queue.
///
/// Resumes on: a worker of the same runtime (on multi_thread, possibly another).
/// Cancellation: cancellable; throws brigade::cancelled if the task was aborted.
/// Throws: std::logic_error outside a spawned task.
class yield_awaiter {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> self) const {
    detail::task_header* me = detail::current_task();
    if (me == nullptr) detail::throw_outside_runtime("brigade::yield_now");
    me->resume_ = reinterpret_cast<std::uintptr_t>(self.address());
    me->wake_by_ref();  // we are RUNNING: this asks the worker to re-queue us
  }
  void await_resume() const {
    detail::task_header* me = detail::current_task();
    if (me != nullptr && me->is_cancelled()) throw cancelled{};
  }
};

/// Yields to the scheduler (see yield_awaiter).
[[nodiscard]] inline yield_awaiter yield_now() noexcept { return {}; }

/// Awaitable that takes one unit of the cooperative budget and yields only
/// when the turn's budget is spent. Put it in loops that never suspend
/// otherwise, so they cannot starve other tasks or the I/O driver.
///
/// Resumes on: the same thread when budget remains; else as yield_now.
/// Cancellation: cancellable (checked when it yields).
class budget_awaiter {
 public:
  bool await_ready() const noexcept { return detail::consume_budget(); }
  void await_suspend(std::coroutine_handle<> self) const { yield_awaiter{}.await_suspend(self); }
  void await_resume() const { yield_awaiter{}.await_resume(); }
};

[[nodiscard]] inline budget_awaiter consume_budget() noexcept { return {}; }

}  // namespace brigade
