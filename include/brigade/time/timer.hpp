#pragma once
// timer: a deadline that can be moved while a task waits on it.

#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/detail/timer_entry.hpp>
#include <brigade/time/clock.hpp>

#include <coroutine>
#include <mutex>

namespace brigade {

/// A resettable deadline (Tokio's Sleep::reset). One task at a time awaits
/// wait(); any task or thread may reset() the deadline meanwhile, and the
/// waiter then wakes at the new deadline (earlier or later).
///
/// Resumes on: as sleep_awaiter.
/// Cancellation: total (an aborted wait() removes its timer).
/// Thread safety: reset() and deadline() from any thread; wait() from one
/// task at a time; the timer must outlive its waiter.
/// Throws: brigade::cancelled; std::logic_error when a second task waits.
/// Example:
///   brigade::timer idle{brigade::now() + 30s};
///   // reader task: on each message, idle.reset(brigade::now() + 30s);
///   co_await idle.wait();  // 30 s without a message
class timer {
 public:
  explicit timer(time_point deadline) noexcept : deadline_(deadline) {}
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;
  ~timer();

  /// Moves the deadline; a pending wait() follows it.
  void reset(time_point deadline);
  time_point deadline() const;

  class wait_awaiter {
   public:
    explicit wait_awaiter(timer& owner) noexcept : owner_(owner) {}
    bool await_ready() const noexcept;
    bool await_suspend(std::coroutine_handle<> self);
    void await_resume() const;

   private:
    friend class timer;
    static bool poll(detail::wait_node* node, bool cancel) noexcept;
    detail::wait_node node_;  // first member: poll() recovers the awaiter from it
    timer& owner_;
    bool withdrawn_ = false;
  };

  /// Waits until the (possibly moved) deadline passes.
  [[nodiscard]] wait_awaiter wait() noexcept { return wait_awaiter{*this}; }

 private:
  mutable std::mutex mutex_;
  time_point deadline_;
  detail::timer_entry entry_;
  detail::time_driver* driver_ = nullptr;
  detail::scheduler* sched_ = nullptr;
  bool waiting_ = false;
};

}  // namespace brigade
