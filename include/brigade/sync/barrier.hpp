#pragma once
// brigade::barrier: n parties meet, then all go on together; reusable.
//
// Moving parts (all under lock_, a spin_lock)
//   parties_   n, fixed
//   arrived_   parties of the current phase that arrived (waiting, or the
//              one arriving now)
//   waiters_   the arrived parties that wait
// The n-th arrival is the phase's leader: it does not wait, it wakes every
// waiter of the phase (is_leader() false for them), resets arrived_ and so
// starts the next phase. Parties may arrive for the next phase while the
// previous one is still being woken: they link into the emptied list.
// An aborted waiter whose phase has not completed withdraws its arrival
// (arrived_ - 1): the barrier then needs another party to complete.

#include <brigade/cancelled.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace brigade {

/// A reusable barrier for `n` parties (tasks and threads, mixed).
///
/// Thread safety: every member may be called concurrently from any thread.
/// The barrier must outlive every pending arrive_and_wait().
/// Example:
///   brigade::barrier b{4};
///   // in each of 4 tasks, every round:
///   if ((co_await b.arrive_and_wait()).is_leader()) merge_round();
class barrier {
 public:
  class arrive_awaiter;

  /// What each party learns when its phase completes.
  class wait_result {
   public:
    /// True for exactly one party per phase (the last to arrive).
    bool is_leader() const noexcept { return leader_; }

   private:
    friend class barrier;
    explicit wait_result(bool leader) noexcept : leader_(leader) {}
    bool leader_;
  };

  /// Throws: std::invalid_argument when n is 0.
  explicit barrier(std::size_t n);
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;
  ~barrier() = default;

  /// `co_await b.arrive_and_wait()`: counts this party and waits until all
  /// n arrived (the n-th does not wait).
  ///
  /// Resumes on: the worker that runs the task after the leader arrived; at
  /// once, on the same thread, for the leader.
  /// Cancellation: partial. Aborted before its phase completes, the wait
  /// throws brigade::cancelled and its arrival is withdrawn; if the phase
  /// completed in the race, it returns normally (the arrival counted).
  /// Throws: brigade::cancelled; std::logic_error outside a spawned task.
  [[nodiscard]] arrive_awaiter arrive_and_wait() noexcept;

  /// As arrive_and_wait(), blocking the calling plain thread.
  /// Throws: std::logic_error on a thread that drives a runtime.
  wait_result blocking_arrive_and_wait();

  std::size_t parties() const noexcept { return parties_; }
  /// A snapshot of the parties waiting in the current phase.
  std::size_t waiters() const noexcept;

 private:
  friend class arrive_awaiter;

  /// True: this arrival completed the phase (leader); else `w` was linked.
  template <class Prepare>
  bool arrive_or_link(detail::sync_waiter* w, Prepare&& prepare) noexcept {
    detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
    std::lock_guard hold(lock_);
    if (++arrived_ == parties_) {
      arrived_ = 0;
      while (detail::sync_waiter* x = waiters_.pop_front()) wakes.push(x);
      return true;
    }
    prepare();
    waiters_.push_back(w);
    return false;
  }
  bool withdraw(detail::sync_waiter* w) noexcept;

  const std::size_t parties_;
  mutable detail::spin_lock lock_;
  std::size_t arrived_ = 0;
  detail::waiter_list waiters_;
};

/// The awaitable of barrier::arrive_and_wait() (see there).
class barrier::arrive_awaiter : private detail::sync_waiter {
 public:
  explicit arrive_awaiter(barrier& b) noexcept : barrier_(b) {}
  arrive_awaiter(const arrive_awaiter&) = delete;
  arrive_awaiter& operator=(const arrive_awaiter&) = delete;
  ~arrive_awaiter();

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::barrier::arrive_and_wait");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    return false;
  }
  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    if (barrier_.arrive_or_link(this, [&] {
          prepare_task(me, awaiting, &poll, detail::wait_kind::barrier, &barrier_);
        })) {
      phase_ = phase::leader;
      // The leader completes at once; it yields only if the budget is spent.
      if (!detail::consume_budget()) {
        detail::yield_completed(me, awaiting);
        return true;
      }
      return false;
    }
    phase_ = phase::queued;
    return true;
  }
  wait_result await_resume() {
    if (phase_ == phase::withdrawn) throw cancelled{};
    return wait_result{phase_ == phase::leader};
  }

 private:
  enum class phase : std::uint8_t { idle, queued, withdrawn, leader, released };
  static bool poll(detail::wait_node* node, bool cancel) noexcept;

  barrier& barrier_;
  phase phase_ = phase::idle;
};

inline barrier::arrive_awaiter barrier::arrive_and_wait() noexcept { return arrive_awaiter{*this}; }

}  // namespace brigade
