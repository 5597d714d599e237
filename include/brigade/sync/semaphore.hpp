#pragma once
// brigade::semaphore: a counting semaphore with FIFO-fair acquires.
//
// Moving parts (all under lock_, a spin_lock)
//   permits_   permits available now
//   waiters_   queued acquires, FIFO, each asking for wanted_ permits
//   closed_    set once by close(); never cleared
//
// Invariant: when waiters_ is not empty, its head wants more than permits_
// (otherwise it would have been granted). A new acquire queues behind any
// waiter even when permits_ would cover it: that is what keeps a large
// request from being overtaken by later small ones.
//
// Grant (after add_permits, a permit's release, or a withdrawal): while the
// head's request fits, subtract it from permits_, unlink the head, wake it.
// Why a withdrawal grants too: an aborted large head may have been the only
// thing keeping smaller requests behind it waiting.
// An aborted waiter that was granted in the race returns its permits at once
// (and so grants the next waiters): an aborted acquire loses no permit.

#include <brigade/cancelled.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace brigade {

/// Thrown by semaphore::acquire / blocking_acquire once the semaphore is
/// closed (including waiters that were queued when close() was called).
class semaphore_closed : public std::runtime_error {
 public:
  semaphore_closed() : std::runtime_error("brigade: semaphore closed") {}
};

/// A counting semaphore for tasks and plain threads.
///
/// Permits come back through RAII (semaphore::permit). Acquires are served
/// in FIFO order: `acquire(5)` queued first is served before a later
/// `acquire(1)`, even when one permit is free. The semaphore must outlive
/// every permit and every pending acquire.
///
/// Thread safety: every member may be called concurrently from any thread.
/// Example:
///   brigade::semaphore s{3};             // at most 3 downloads at once
///   auto permit = co_await s.acquire();  // returned when permit is destroyed
class semaphore {
 public:
  class permit;
  class acquire_awaiter;

  explicit semaphore(std::size_t permits) noexcept : permits_(permits) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;
  ~semaphore() = default;

  /// `co_await s.acquire(n)`: waits until `n` permits are granted (FIFO).
  ///
  /// Resumes on: the worker that runs the task once the permits were granted
  /// to it; at once, on the same thread, when they are available and nobody
  /// is queued.
  /// Cancellation: total. An aborted acquire throws brigade::cancelled and
  /// holds no permit; permits granted to it in the race are returned (and
  /// passed to the next waiters). No permit is lost.
  /// Throws: brigade::semaphore_closed when the semaphore is (or becomes)
  /// closed; brigade::cancelled; std::logic_error outside a spawned task.
  [[nodiscard]] acquire_awaiter acquire(std::size_t n = 1) noexcept;

  /// `n` permits if they are free and nobody is queued; else (or when
  /// closed) nothing. Never waits.
  [[nodiscard]] std::optional<permit> try_acquire(std::size_t n = 1) noexcept;

  /// Blocks the calling plain thread until `n` permits are granted (FIFO with
  /// the tasks that wait).
  /// Throws: brigade::semaphore_closed; std::logic_error on a thread that
  /// drives a runtime.
  [[nodiscard]] permit blocking_acquire(std::size_t n = 1);

  /// Adds `n` permits (granting queued acquires in order). Works on a closed
  /// semaphore too (the permits are then only counted).
  void add_permits(std::size_t n) noexcept;

  /// Closes the semaphore: every queued and every later acquire throws
  /// semaphore_closed; try_acquire returns nothing. Permits held stay valid
  /// and are still returned. Idempotent.
  void close() noexcept;

  bool is_closed() const noexcept;
  /// A snapshot of the permits available now.
  std::size_t available_permits() const noexcept;
  /// A snapshot of the number of queued acquires.
  std::size_t waiters() const noexcept;

 private:
  friend class permit;
  friend class acquire_awaiter;

  struct waiter : detail::sync_waiter {
    std::size_t wanted_ = 0;
    bool closed_ = false;  // outcome: woken by close(), nothing granted
  };

  enum class acquire_outcome : std::uint8_t { acquired, queued, closed };
  template <class Prepare>
  acquire_outcome acquire_or_link(waiter* w, std::size_t n, Prepare&& prepare) noexcept {
    std::lock_guard hold(lock_);
    if (closed_) return acquire_outcome::closed;
    if (waiters_.empty() && permits_ >= n) {
      permits_ -= n;
      return acquire_outcome::acquired;
    }
    prepare();
    w->wanted_ = n;
    waiters_.push_back(w);
    return acquire_outcome::queued;
  }
  /// Unlinks an aborted waiter and grants those it held back. False when it
  /// is no longer linked (it is being granted or closed right now).
  bool withdraw(waiter* w) noexcept;
  /// Under lock_: wakes the head waiters whose requests fit.
  void grant_locked(detail::wake_list& wakes) noexcept;

  mutable detail::spin_lock lock_;
  std::size_t permits_;
  bool closed_ = false;
  detail::waiter_list waiters_;
};

/// Permits taken from a brigade::semaphore, returned on destruction (RAII).
/// Movable, not copyable.
/// Thread safety: may be released on any thread; one permit object is not
/// for concurrent use.
class semaphore::permit {
 public:
  permit(permit&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  permit& operator=(permit&& other) noexcept {
    if (this != &other) {
      release();
      owner_ = std::exchange(other.owner_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  permit(const permit&) = delete;
  permit& operator=(const permit&) = delete;
  ~permit() { release(); }

  /// Returns the permits now. Idempotent.
  void release() noexcept {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->add_permits(std::exchange(count_, 0));
  }
  /// Drops the permits without returning them (the semaphore shrinks).
  void forget() noexcept {
    owner_ = nullptr;
    count_ = 0;
  }
  /// How many permits this object holds.
  std::size_t count() const noexcept { return count_; }
  explicit operator bool() const noexcept { return owner_ != nullptr; }

 private:
  friend class semaphore;
  permit(semaphore& s, std::size_t n) noexcept : owner_(&s), count_(n) {}
  semaphore* owner_;
  std::size_t count_;
};

/// The awaitable of semaphore::acquire() (see there).
class semaphore::acquire_awaiter : private semaphore::waiter {
 public:
  acquire_awaiter(semaphore& s, std::size_t n) noexcept : sem_(s), n_(n) {}
  acquire_awaiter(const acquire_awaiter&) = delete;
  acquire_awaiter& operator=(const acquire_awaiter&) = delete;
  ~acquire_awaiter();

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::semaphore::acquire");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    if (!detail::consume_budget()) phase_ = phase::budget_spent;
    return false;
  }
  bool await_suspend(std::coroutine_handle<> awaiting) noexcept;
  permit await_resume();

 private:
  enum class phase : std::uint8_t {
    idle,
    budget_spent,
    owned,
    yielded,
    queued,
    withdrawn,
    closed,
    taken
  };
  static bool poll(detail::wait_node* node, bool cancel) noexcept;

  semaphore& sem_;
  std::size_t n_;
  phase phase_ = phase::idle;
};

inline semaphore::acquire_awaiter semaphore::acquire(std::size_t n) noexcept {
  return acquire_awaiter{*this, n};
}

inline bool semaphore::acquire_awaiter::await_suspend(std::coroutine_handle<> awaiting) noexcept {
  detail::task_header* me = detail::current_task();
  switch (sem_.acquire_or_link(
      this, n_, [&] { prepare_task(me, awaiting, &poll, detail::wait_kind::semaphore, &sem_); })) {
    case acquire_outcome::acquired:
      if (phase_ == phase::budget_spent) {
        phase_ = phase::yielded;
        detail::yield_completed(me, awaiting);
        return true;
      }
      phase_ = phase::owned;
      return false;
    case acquire_outcome::closed:
      phase_ = phase::closed;
      return false;
    case acquire_outcome::queued:
      break;
  }
  phase_ = phase::queued;
  return true;
}

inline semaphore::permit semaphore::acquire_awaiter::await_resume() {
  switch (phase_) {
    case phase::withdrawn:
      throw cancelled{};
    case phase::closed:
      throw semaphore_closed{};
    case phase::yielded:
      if (detail::current_task()->is_cancelled()) {
        phase_ = phase::withdrawn;
        sem_.add_permits(n_);
        throw cancelled{};
      }
      break;
    default:
      break;
  }
  phase_ = phase::taken;
  return permit{sem_, n_};
}

}  // namespace brigade
