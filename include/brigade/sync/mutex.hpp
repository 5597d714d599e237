#pragma once
// brigade::mutex: a FIFO-fair mutual exclusion lock for tasks and threads.
//
// State word (state_, 32 bits)
//   bit 0  LOCKED        someone owns the lock
//   bit 1  HAS_WAITERS   waiters_ is not empty (changed only under lock_)
//   Invariant: HAS_WAITERS implies LOCKED (an unlock with waiters hands the
//   lock over instead of clearing LOCKED).
//
// Fast paths touch only state_: lock is one CAS 0 -> LOCKED, unlock one CAS
// LOCKED -> 0. Everything else happens under lock_ (a spin_lock):
//   lock (slow): 1. if LOCKED is clear, take it (CAS) and do not wait;
//                2. else set HAS_WAITERS (CAS; a failure means an unlock
//                   raced: retry step 1), link the waiter last.
//                Why the CAS in step 2: the owner's fast unlock must fail
//                once a waiter is (about to be) linked, or the waiter sleeps
//                on a free lock.
//   unlock (slow, HAS_WAITERS set): pop the first waiter; LOCKED stays set
//                (ownership passes to it: nobody can barge in between, which
//                is what makes the lock FIFO-fair); clear HAS_WAITERS when
//                the list became empty; wake it after unlocking lock_.
//   withdraw (an aborted waiter still linked): unlink; clear HAS_WAITERS when
//                the list became empty.
//   handed over to an aborted waiter (its poll sees `ready` and `cancel`):
//                it unlocks at once, passing the lock to the next waiter, and
//                its lock() throws brigade::cancelled.

#include <brigade/cancelled.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace brigade {

/// A mutual exclusion lock that a task awaits without blocking its worker.
///
/// Fair: waiters get the lock in the order they asked for it; an unlock hands
/// the lock directly to the first waiter. Usable from tasks (`co_await
/// lock()`) and plain threads (`blocking_lock()`), mixed on one mutex.
/// The mutex must outlive every guard and every pending lock(); it must be
/// unlocked when destroyed.
///
/// Thread safety: every member may be called concurrently from any thread.
/// Example:
///   brigade::mutex m;
///   auto g = co_await m.lock();   // released when g goes out of scope
class mutex {
 public:
  class guard;
  class lock_awaiter;

  mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  ~mutex() = default;

  /// `co_await m.lock()`: waits for the lock and returns its guard.
  ///
  /// Resumes on: the worker that runs the task once the lock was handed to
  /// it (on multi_thread, usually the unlocking worker); at once, on the
  /// same thread, when the lock is free.
  /// Cancellation: total. An aborted task's lock() throws brigade::cancelled
  /// and holds no lock; if the lock was handed over in the race, it is passed
  /// on to the next waiter.
  /// Throws: brigade::cancelled; std::logic_error outside a spawned task.
  [[nodiscard]] lock_awaiter lock() noexcept;

  /// The lock if it is free right now (even if waiters are queued: there are
  /// none then, since an unlock hands the lock over). Never waits.
  /// Thread safety: any thread, any task.
  [[nodiscard]] std::optional<guard> try_lock() noexcept;

  /// Blocks the calling plain thread until it owns the lock (FIFO with the
  /// tasks that wait).
  /// Throws: std::logic_error on a thread that drives a runtime.
  [[nodiscard]] guard blocking_lock();

  /// A snapshot: true while someone owns the lock (for tests and metrics).
  bool is_locked() const noexcept {
    // relaxed: a snapshot, no data is read through it.
    return (state_.load(detail::memory_order_relaxed) & locked) != 0;
  }

  /// A snapshot of the number of queued waiters (tasks and threads).
  std::size_t waiters() const noexcept;

 private:
  friend class guard;
  friend class lock_awaiter;

  static constexpr std::uint32_t locked = 1u << 0;
  static constexpr std::uint32_t has_waiters = 1u << 1;

  bool try_lock_fast() noexcept {
    std::uint32_t expected = 0;
    // acquire: pairs with the release in unlock(): the previous owner's
    // writes to the protected data are visible.
    return state_.compare_exchange_strong(expected, locked, detail::memory_order_acquire,
                                          detail::memory_order_relaxed);
  }
  void unlock() noexcept {
    std::uint32_t expected = locked;
    // release: pairs with the acquire CAS in try_lock_fast()/lock_or_link().
    if (state_.compare_exchange_strong(expected, 0, detail::memory_order_release,
                                       detail::memory_order_relaxed)) {
      return;
    }
    unlock_slow();
  }

  enum class lock_outcome : std::uint8_t { acquired, queued };
  /// Slow lock: takes the lock, or links `w` (prepared by `prepare`) last.
  template <class Prepare>
  lock_outcome lock_or_link(detail::sync_waiter* w, Prepare&& prepare) noexcept;
  void unlock_slow() noexcept;
  /// Unlinks an aborted waiter. False when it is no longer linked (the lock
  /// is being handed to it).
  bool withdraw(detail::sync_waiter* w) noexcept;

  detail::atomic<std::uint32_t> state_{0};
  mutable detail::spin_lock lock_;
  detail::waiter_list waiters_;
};

/// Ownership of a locked brigade::mutex: unlocks on destruction (RAII).
/// Movable, not copyable. A moved-from or unlocked guard owns nothing.
/// Thread safety: a guard may be released on any thread (a task may move to
/// another worker while holding it); one guard is not for concurrent use.
class mutex::guard {
 public:
  guard(guard&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  guard& operator=(guard&& other) noexcept {
    if (this != &other) {
      unlock();
      owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
  }
  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;
  ~guard() { unlock(); }

  /// Releases the lock early (handing it to the first waiter). Idempotent.
  void unlock() noexcept {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->unlock();
  }
  bool owns_lock() const noexcept { return owner_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  /// The mutex this guard locks, or nullptr.
  brigade::mutex* owner() const noexcept { return owner_; }

 private:
  friend class brigade::mutex;
  explicit guard(brigade::mutex& m) noexcept : owner_(&m) {}
  brigade::mutex* owner_;
};

/// The awaitable of mutex::lock() (see there).
class mutex::lock_awaiter : private detail::sync_waiter {
 public:
  explicit lock_awaiter(brigade::mutex& m) noexcept : mutex_(m) {}
  lock_awaiter(const lock_awaiter&) = delete;
  lock_awaiter& operator=(const lock_awaiter&) = delete;
  ~lock_awaiter();

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::mutex::lock");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    if (!detail::consume_budget()) {
      phase_ = phase::budget_spent;
      return false;
    }
    if (mutex_.try_lock_fast()) {
      phase_ = phase::owned;
      return true;
    }
    return false;
  }
  bool await_suspend(std::coroutine_handle<> awaiting) noexcept;
  guard await_resume();

 private:
  enum class phase : std::uint8_t { idle, budget_spent, owned, yielded, queued, withdrawn, taken };
  static bool poll(detail::wait_node* node, bool cancel) noexcept;

  brigade::mutex& mutex_;
  phase phase_ = phase::idle;
};

inline mutex::lock_awaiter mutex::lock() noexcept { return lock_awaiter{*this}; }

inline std::optional<mutex::guard> mutex::try_lock() noexcept {
  if (try_lock_fast()) return guard{*this};
  return std::nullopt;
}

template <class Prepare>
mutex::lock_outcome mutex::lock_or_link(detail::sync_waiter* w, Prepare&& prepare) noexcept {
  std::lock_guard hold(lock_);
  // relaxed: only a first guess; the CASes below decide (and acquire).
  std::uint32_t s = state_.load(detail::memory_order_relaxed);
  for (;;) {
    if ((s & locked) == 0) {
      // acquire: pairs with the release in unlock().
      if (state_.compare_exchange_weak(s, s | locked, detail::memory_order_acquire,
                                       detail::memory_order_relaxed)) {
        return lock_outcome::acquired;
      }
      continue;
    }
    if ((s & has_waiters) != 0) break;
    // relaxed: only makes the owner's fast unlock fail; the hand-over is
    // ordered by lock_ and the waiter's ready flag.
    if (state_.compare_exchange_weak(s, s | has_waiters, detail::memory_order_relaxed,
                                     detail::memory_order_relaxed)) {
      break;
    }
  }
  prepare();
  waiters_.push_back(w);
  return lock_outcome::queued;
}

inline bool mutex::lock_awaiter::await_suspend(std::coroutine_handle<> awaiting) noexcept {
  detail::task_header* me = detail::current_task();
  const lock_outcome outcome = mutex_.lock_or_link(
      this, [&] { prepare_task(me, awaiting, &poll, detail::wait_kind::mutex, &mutex_); });
  if (outcome == lock_outcome::acquired) {
    if (phase_ == phase::budget_spent) {
      // The turn's budget is spent: yield once holding the lock, then deliver.
      phase_ = phase::yielded;
      detail::yield_completed(me, awaiting);
      return true;
    }
    phase_ = phase::owned;
    return false;
  }
  phase_ = phase::queued;
  return true;
}

inline mutex::guard mutex::lock_awaiter::await_resume() {
  switch (phase_) {
    case phase::withdrawn:
      throw cancelled{};
    case phase::yielded:
      if (detail::current_task()->is_cancelled()) {
        // Aborted while yielding: total cancellation holds no lock.
        phase_ = phase::withdrawn;
        mutex_.unlock();
        throw cancelled{};
      }
      break;
    default:
      break;
  }
  phase_ = phase::taken;
  return guard{mutex_};
}

}  // namespace brigade
