#pragma once
// brigade::latch: a single-use countdown; waiters go on once it reaches 0.
//
// Moving parts (all under lock_, a spin_lock)
//   count_    what is left to count down; never goes back up
//   waiters_  tasks and threads waiting for 0
// The count_down that reaches 0 unlinks every waiter and wakes them after
// unlocking. Waiting has no side effect, so an aborted wait simply withdraws
// (even if the latch opened in the race).

#include <brigade/cancelled.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace brigade {

/// A single-use latch: `count_down()` n times, and every `wait()` completes.
///
/// Thread safety: every member may be called concurrently from any thread.
/// The latch must outlive every pending wait().
/// Example:
///   brigade::latch done{3};
///   for (auto& job : jobs) spawn(run(job, done));   // each calls done.count_down()
///   co_await done.wait();
class latch {
 public:
  class wait_awaiter;

  explicit latch(std::size_t count) noexcept : count_(count) {}
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;
  ~latch() = default;

  /// Counts down by `n`; at 0, wakes every waiter.
  /// Throws: std::invalid_argument when `n` exceeds what is left (nothing
  /// is counted then).
  void count_down(std::size_t n = 1);

  /// `co_await l.wait()`: waits until the count reaches 0.
  ///
  /// Resumes on: the worker that runs the task after the last count_down;
  /// at once, on the same thread, when the count is already 0.
  /// Cancellation: total. An aborted wait throws brigade::cancelled (waiting
  /// has no side effect to undo).
  /// Throws: brigade::cancelled; std::logic_error outside a spawned task.
  [[nodiscard]] wait_awaiter wait() noexcept;

  /// True when the count reached 0. Never waits.
  bool try_wait() const noexcept;

  /// Blocks the calling plain thread until the count reaches 0.
  /// Throws: std::logic_error on a thread that drives a runtime.
  void blocking_wait();

  /// A snapshot of the remaining count.
  std::size_t count() const noexcept;
  /// A snapshot of the number of waiters.
  std::size_t waiters() const noexcept;

 private:
  friend class wait_awaiter;

  /// True: the count is 0 already; else `w` was linked.
  template <class Prepare>
  bool open_or_link(detail::sync_waiter* w, Prepare&& prepare) noexcept {
    std::lock_guard hold(lock_);
    if (count_ == 0) return true;
    prepare();
    waiters_.push_back(w);
    return false;
  }
  bool withdraw(detail::sync_waiter* w) noexcept;

  mutable detail::spin_lock lock_;
  std::size_t count_;
  detail::waiter_list waiters_;
};

/// The awaitable of latch::wait() (see there).
class latch::wait_awaiter : private detail::sync_waiter {
 public:
  explicit wait_awaiter(latch& l) noexcept : latch_(l) {}
  wait_awaiter(const wait_awaiter&) = delete;
  wait_awaiter& operator=(const wait_awaiter&) = delete;
  ~wait_awaiter();

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::latch::wait");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    if (!detail::consume_budget()) phase_ = phase::budget_spent;
    return false;
  }
  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    if (latch_.open_or_link(
            this, [&] { prepare_task(me, awaiting, &poll, detail::wait_kind::latch, &latch_); })) {
      if (phase_ == phase::budget_spent) {
        detail::yield_completed(me, awaiting);
        return true;
      }
      return false;
    }
    phase_ = phase::queued;
    return true;
  }
  void await_resume() const {
    if (phase_ == phase::withdrawn) throw cancelled{};
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, queued, withdrawn, opened };
  static bool poll(detail::wait_node* node, bool cancel) noexcept;

  latch& latch_;
  phase phase_ = phase::idle;
};

inline latch::wait_awaiter latch::wait() noexcept { return wait_awaiter{*this}; }

}  // namespace brigade
