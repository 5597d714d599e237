#pragma once
// sleep, sleep_until: suspend the current task until a point in time.

#include <brigade/detail/task_header.hpp>
#include <brigade/detail/timer_entry.hpp>
#include <brigade/time/clock.hpp>

#include <coroutine>

namespace brigade {

/// Awaiter of sleep / sleep_until. The timer entry lives inside it (inside
/// the waiting frame): sleeping allocates nothing.
///
/// Resumes on: the worker that holds the runtime's driver when the deadline
/// passes (on current_thread, the runtime's thread); never before the
/// deadline on the runtime's clock (1 ms resolution, rounded up).
/// Cancellation: total. An aborted sleep removes its timer and throws
/// brigade::cancelled; nothing else is affected.
/// Thread safety: one task awaits it once.
/// Throws: brigade::cancelled; std::logic_error when awaited outside a task.
class sleep_awaiter {
 public:
  explicit sleep_awaiter(time_point deadline) noexcept : deadline_(deadline) {}
  sleep_awaiter(const sleep_awaiter&) = delete;
  sleep_awaiter& operator=(const sleep_awaiter&) = delete;
  sleep_awaiter(sleep_awaiter&& other) noexcept : deadline_(other.deadline_) {}
  ~sleep_awaiter();

  bool await_ready() const noexcept;
  bool await_suspend(std::coroutine_handle<> self);
  void await_resume() const;

  time_point deadline() const noexcept { return deadline_; }

 private:
  static bool poll(detail::wait_node* node, bool cancel) noexcept;

  detail::wait_node node_;  // first member: poll() recovers the awaiter from it
  detail::timer_entry entry_;
  detail::time_driver* driver_ = nullptr;
  time_point deadline_;
  bool withdrawn_ = false;
};

/// Suspends the current task for `d` (see sleep_awaiter).
/// Example: co_await brigade::sleep(10ms);
[[nodiscard]] sleep_awaiter sleep(duration d) noexcept;

/// Suspends the current task until `deadline` (see sleep_awaiter). A
/// deadline in the past completes at once.
[[nodiscard]] inline sleep_awaiter sleep_until(time_point deadline) noexcept {
  return sleep_awaiter{deadline};
}

}  // namespace brigade
