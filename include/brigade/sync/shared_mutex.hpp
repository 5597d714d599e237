#pragma once
// brigade::shared_mutex: a reader-writer lock, FIFO-fair between readers and
// writers.
//
// Moving parts (all under lock_, a spin_lock)
//   readers_  readers holding the lock
//   writer_   a writer holds the lock
//   waiters_  one FIFO queue for both kinds (kind_ says which)
//
// Why one queue: with separate queues either readers starve writers (new
// readers keep joining) or the reverse. Here a request is granted only when
// it is compatible with the holders *and* nobody is queued before it: a
// reader arriving after a queued writer waits behind it.
//
// Grant (after an unlock, or a withdrawal): walk from the head, granting
// each waiter compatible with the holders; stop at the first that is not.
// So a run of queued readers is granted together, a writer alone.
// A withdrawal grants too: an aborted writer at the head may have been the
// only thing holding back the readers behind it.
// An aborted waiter granted in the race unlocks at once (passing the lock
// on): an aborted lock holds no lock.

#include <brigade/cancelled.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace brigade {

/// A reader-writer lock that tasks await without blocking their worker.
///
/// Many readers (lock_shared) or one writer (lock) hold it at once. Fair:
/// requests are granted in arrival order, so neither kind starves. Usable
/// from tasks and plain threads (blocking_ forms), mixed.
/// The shared_mutex must outlive every guard and pending lock.
///
/// Thread safety: every member may be called concurrently from any thread.
/// Example:
///   brigade::shared_mutex rw;
///   { auto r = co_await rw.lock_shared(); read(table); }
///   { auto w = co_await rw.lock(); write(table); }
class shared_mutex {
 public:
  /// Which way a guard or request holds the lock.
  enum class access : std::uint8_t { shared, exclusive };

  template <access Kind>
  class basic_guard;
  /// Exclusive ownership (from lock()).
  using guard = basic_guard<access::exclusive>;
  /// Shared ownership (from lock_shared()).
  using shared_guard = basic_guard<access::shared>;

  template <access Kind>
  class basic_lock_awaiter;
  using lock_awaiter = basic_lock_awaiter<access::exclusive>;
  using lock_shared_awaiter = basic_lock_awaiter<access::shared>;

  shared_mutex() noexcept = default;
  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;
  ~shared_mutex() = default;

  /// `co_await rw.lock()`: waits for exclusive ownership.
  ///
  /// Resumes on: the worker that runs the task once the lock was granted;
  /// at once, on the same thread, when it is free and nobody is queued.
  /// Cancellation: total. An aborted lock throws brigade::cancelled and holds
  /// nothing; a grant that raced the abort is passed on.
  /// Throws: brigade::cancelled; std::logic_error outside a spawned task.
  [[nodiscard]] lock_awaiter lock() noexcept;
  /// `co_await rw.lock_shared()`: waits for shared ownership. As lock().
  [[nodiscard]] lock_shared_awaiter lock_shared() noexcept;

  /// Exclusive ownership if it can be granted now (free, nobody queued).
  [[nodiscard]] std::optional<guard> try_lock() noexcept;
  /// Shared ownership if it can be granted now (no writer, nobody queued).
  [[nodiscard]] std::optional<shared_guard> try_lock_shared() noexcept;

  /// Blocks the calling plain thread until it owns the lock exclusively.
  /// Throws: std::logic_error on a thread that drives a runtime.
  [[nodiscard]] guard blocking_lock();
  /// Blocks the calling plain thread until it owns the lock shared.
  /// Throws: std::logic_error on a thread that drives a runtime.
  [[nodiscard]] shared_guard blocking_lock_shared();

  /// Snapshots, for tests and metrics.
  std::size_t readers() const noexcept;
  bool is_locked_exclusive() const noexcept;
  std::size_t waiters() const noexcept;

 private:
  template <access Kind>
  friend class basic_guard;
  template <access Kind>
  friend class basic_lock_awaiter;

  struct waiter : detail::sync_waiter {
    access kind_ = access::shared;
  };

  enum class lock_outcome : std::uint8_t { acquired, queued };

  bool can_grant_locked(access kind) const noexcept {
    return !writer_ && (kind == access::shared || readers_ == 0);
  }
  void take_locked(access kind) noexcept {
    if (kind == access::exclusive) {
      writer_ = true;
    } else {
      ++readers_;
    }
  }
  template <class Prepare>
  lock_outcome lock_or_link(waiter* w, access kind, Prepare&& prepare) noexcept {
    std::lock_guard hold(lock_);
    if (waiters_.empty() && can_grant_locked(kind)) {
      take_locked(kind);
      return lock_outcome::acquired;
    }
    prepare();
    w->kind_ = kind;
    waiters_.push_back(w);
    return lock_outcome::queued;
  }
  bool try_take(access kind) noexcept;
  void unlock(access kind) noexcept;
  bool withdraw(waiter* w) noexcept;
  void grant_locked(detail::wake_list& wakes) noexcept;
  void blocking_take(access kind);

  mutable detail::spin_lock lock_;
  std::size_t readers_ = 0;
  bool writer_ = false;
  detail::waiter_list waiters_;
};

/// Ownership of a brigade::shared_mutex (shared or exclusive, per Kind):
/// released on destruction (RAII). Movable, not copyable.
/// Thread safety: may be released on any thread; not for concurrent use.
template <shared_mutex::access Kind>
class shared_mutex::basic_guard {
 public:
  basic_guard(basic_guard&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  basic_guard& operator=(basic_guard&& other) noexcept {
    if (this != &other) {
      unlock();
      owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
  }
  basic_guard(const basic_guard&) = delete;
  basic_guard& operator=(const basic_guard&) = delete;
  ~basic_guard() { unlock(); }

  /// Releases the lock early. Idempotent.
  void unlock() noexcept {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->unlock(Kind);
  }
  bool owns_lock() const noexcept { return owner_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }

 private:
  friend class shared_mutex;
  explicit basic_guard(shared_mutex& m) noexcept : owner_(&m) {}
  shared_mutex* owner_;
};

/// The awaitable of lock() / lock_shared() (see there).
template <shared_mutex::access Kind>
class shared_mutex::basic_lock_awaiter : private shared_mutex::waiter {
 public:
  explicit basic_lock_awaiter(shared_mutex& m) noexcept : mutex_(m) {}
  basic_lock_awaiter(const basic_lock_awaiter&) = delete;
  basic_lock_awaiter& operator=(const basic_lock_awaiter&) = delete;
  ~basic_lock_awaiter() {
    switch (phase_) {
      case phase::queued:
        // Only when the waiting frame is destroyed (runtime shutdown).
        if (mutex_.withdraw(this)) {
          task_->release();  // no waker any more: its reference is ours
          return;
        }
        wait_until_ready();  // being granted right now: pass it on
        mutex_.unlock(Kind);
        return;
      case phase::owned:
      case phase::yielded:
        mutex_.unlock(Kind);
        return;
      default:
        return;
    }
  }

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::shared_mutex::lock");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    if (!detail::consume_budget()) phase_ = phase::budget_spent;
    return false;
  }

  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    if (mutex_.lock_or_link(this, Kind, [&] {
          prepare_task(me, awaiting, &poll, detail::wait_kind::shared_mutex, &mutex_);
        }) == lock_outcome::acquired) {
      if (phase_ == phase::budget_spent) {
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

  basic_guard<Kind> await_resume() {
    if (phase_ == phase::withdrawn) throw cancelled{};
    if (phase_ == phase::yielded && detail::current_task()->is_cancelled()) {
      phase_ = phase::withdrawn;
      mutex_.unlock(Kind);
      throw cancelled{};
    }
    phase_ = phase::taken;
    return basic_guard<Kind>{mutex_};
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, owned, yielded, queued, withdrawn, taken };

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    auto* self = static_cast<basic_lock_awaiter*>(static_cast<waiter*>(node));
    if (self->is_ready()) {
      if (cancel) {
        self->phase_ = phase::withdrawn;
        self->mutex_.unlock(Kind);  // granted to an aborted task: pass it on
      } else {
        self->phase_ = phase::owned;
      }
      return true;
    }
    if (!cancel) return false;                       // a stale wake
    if (!self->mutex_.withdraw(self)) return false;  // firing: its wake re-polls us
    self->phase_ = phase::withdrawn;
    self->task_->release();  // the waker's reference: no waker any more
    return true;
  }

  shared_mutex& mutex_;
  phase phase_ = phase::idle;
};

inline shared_mutex::lock_awaiter shared_mutex::lock() noexcept { return lock_awaiter{*this}; }
inline shared_mutex::lock_shared_awaiter shared_mutex::lock_shared() noexcept {
  return lock_shared_awaiter{*this};
}
inline std::optional<shared_mutex::guard> shared_mutex::try_lock() noexcept {
  if (try_take(access::exclusive)) return guard{*this};
  return std::nullopt;
}
inline std::optional<shared_mutex::shared_guard> shared_mutex::try_lock_shared() noexcept {
  if (try_take(access::shared)) return shared_guard{*this};
  return std::nullopt;
}
inline shared_mutex::guard shared_mutex::blocking_lock() {
  blocking_take(access::exclusive);
  return guard{*this};
}
inline shared_mutex::shared_guard shared_mutex::blocking_lock_shared() {
  blocking_take(access::shared);
  return shared_guard{*this};
}

}  // namespace brigade
