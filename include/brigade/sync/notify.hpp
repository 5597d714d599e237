#pragma once
// brigade::notify: wake one or all waiting tasks, with a stored permit.
//
// Moving parts (all under lock_, a spin_lock)
//   waiters_  tasks and threads parked in notified(), FIFO
//   permit_   one stored notification: notify_one() with nobody waiting sets
//             it; the next notified() consumes it without waiting. At most
//             one is stored (notifying twice before anyone waits still wakes
//             one waiter).
//
// notify_one wakes the first waiter (by_one_ = true); notify_all wakes every
// waiter queued at that moment (by_one_ = false) and stores no permit, so a
// later notified() waits for the next notification.
// An aborted waiter that was woken by notify_one in the race passes the
// notification on (to the next waiter, or as the stored permit): a
// notify_one is never swallowed by a task that gave up waiting.

#include <brigade/cancelled.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace brigade {

/// Notifies tasks (and threads) that something happened.
///
/// Thread safety: every member may be called concurrently from any thread.
/// The notify must outlive every pending notified().
/// Example:
///   brigade::notify ready;
///   // consumer:                       // producer:
///   co_await ready.notified();         publish(x); ready.notify_one();
class notify {
 public:
  class notified_awaiter;

  notify() noexcept = default;
  notify(const notify&) = delete;
  notify& operator=(const notify&) = delete;
  ~notify() = default;

  /// Wakes the first waiter; with nobody waiting, stores one permit that the
  /// next notified() consumes at once.
  void notify_one() noexcept;
  /// Wakes every current waiter. Stores no permit.
  void notify_all() noexcept;

  /// `co_await n.notified()`: waits for a notify_one / notify_all (or
  /// consumes the stored permit).
  ///
  /// Resumes on: the worker that runs the task after the notification; at
  /// once, on the same thread, when a permit was stored.
  /// Cancellation: total. An aborted wait throws brigade::cancelled; a
  /// notify_one delivered to it in the race is passed on.
  /// Throws: brigade::cancelled; std::logic_error outside a spawned task.
  [[nodiscard]] notified_awaiter notified() noexcept;

  /// Blocks the calling plain thread until notified (as notified()).
  /// Throws: std::logic_error on a thread that drives a runtime.
  void blocking_notified();

  /// A snapshot of the number of waiters.
  std::size_t waiters() const noexcept;

 private:
  friend class notified_awaiter;

  struct waiter : detail::sync_waiter {
    bool by_one_ = false;  // outcome: woken by notify_one
  };

  /// True: the stored permit was consumed; else `w` was linked.
  template <class Prepare>
  bool consume_or_link(waiter* w, Prepare&& prepare) noexcept {
    std::lock_guard hold(lock_);
    if (permit_) {
      permit_ = false;
      return true;
    }
    prepare();
    waiters_.push_back(w);
    return false;
  }
  bool withdraw(waiter* w) noexcept;

  mutable detail::spin_lock lock_;
  bool permit_ = false;
  detail::waiter_list waiters_;
};

/// The awaitable of notify::notified() (see there).
class notify::notified_awaiter : private notify::waiter {
 public:
  explicit notified_awaiter(notify& n) noexcept : owner_(n) {}
  notified_awaiter(const notified_awaiter&) = delete;
  notified_awaiter& operator=(const notified_awaiter&) = delete;
  ~notified_awaiter();

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::notify::notified");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    if (!detail::consume_budget()) phase_ = phase::budget_spent;
    return false;
  }
  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    if (owner_.consume_or_link(
            this, [&] { prepare_task(me, awaiting, &poll, detail::wait_kind::notify, &owner_); })) {
      if (phase_ == phase::budget_spent) {
        phase_ = phase::yielded;
        detail::yield_completed(me, awaiting);
        return true;
      }
      phase_ = phase::done;
      return false;
    }
    phase_ = phase::queued;
    return true;
  }
  void await_resume() {
    if (phase_ == phase::withdrawn) throw cancelled{};
    if (phase_ == phase::yielded && detail::current_task()->is_cancelled()) {
      phase_ = phase::withdrawn;
      owner_.notify_one();  // give the consumed permit back
      throw cancelled{};
    }
    phase_ = phase::done;
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, yielded, queued, withdrawn, done };
  static bool poll(detail::wait_node* node, bool cancel) noexcept;

  notify& owner_;
  phase phase_ = phase::idle;
};

inline notify::notified_awaiter notify::notified() noexcept { return notified_awaiter{*this}; }

}  // namespace brigade
