#pragma once
// brigade::testing::manual_event: a test awaitable that parks tasks until
// set() is called, from a task or from any plain thread.
//
// It is built on the runtime's real wait protocol (detail/task_header.hpp),
// so tests that use it exercise wake-ups, aborts and shutdown exactly as a
// production primitive would:
//
//   1. wait() checks CANCELLED first (an aborted task must not park), then,
//      under the event's lock, either sees the event set (no suspension) or
//      links its awaiter into the waiter list, records its wait_node in the
//      task header (resume_ = &node | 1) and takes a reference for the waker.
//   2. set() marks the event set, unlinks every waiter and marks each ready
//      (release) under the lock, then after unlocking calls wake_by_val() on
//      each waiter's task, consuming the reference taken in step 1. It never
//      touches an awaiter after unlocking: a ready awaiter may be resumed (and
//      destroyed) by a concurrent cancel poll at any moment.
//   3. The worker polls the node before resuming. ready -> resume with the
//      value; cancel -> under the lock, if the awaiter is still linked it
//      withdraws (unlinks, drops the waker's reference) and await_resume
//      throws brigade::cancelled; if set() already unlinked it, the event
//      won the race and the wait completes normally (nothing is lost).
//   4. Runtime shutdown destroys suspended frames: the awaiter's destructor
//      unlinks itself if still linked and drops the waker's reference.
//
// Lifetime: the event must outlive every awaiter linked into it (declare it
// before the runtime in plain tests, or set it before the test body ends).
//
// The event is manual-reset: once set, every later wait() completes at once
// until reset().

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/task_header.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace brigade::testing {

class manual_event {
 public:
  class awaiter;

  manual_event() = default;
  manual_event(const manual_event&) = delete;
  manual_event& operator=(const manual_event&) = delete;
  ~manual_event() = default;

  /// Sets the event and wakes every waiter. Any thread, any number of times.
  void set();

  /// Clears the event (waiters already woken stay woken). Any thread.
  void reset() {
    std::lock_guard lock(mutex_);
    set_ = false;
  }

  bool is_set() const {
    std::lock_guard lock(mutex_);
    return set_;
  }

  /// Tasks currently parked on the event (linked awaiters). Any thread.
  std::size_t waiters() const {
    std::lock_guard lock(mutex_);
    return count_;
  }

  /// Times set() woke at least one waiter (diagnostics).
  std::size_t wakes() const {
    std::lock_guard lock(mutex_);
    return wakes_;
  }

  /// `co_await ev.wait()`: suspends the current task until the event is set.
  /// Cancellation: cancellable; throws brigade::cancelled if the task was
  /// aborted before or while waiting (unless set() won the race).
  /// Throws: std::logic_error outside a spawned task.
  [[nodiscard]] awaiter wait() noexcept;

 private:
  friend class awaiter;

  void link(awaiter* a) noexcept;
  void unlink(awaiter* a) noexcept;

  mutable std::mutex mutex_;
  bool set_ = false;
  awaiter* head_ = nullptr;
  awaiter* tail_ = nullptr;
  std::size_t count_ = 0;
  std::size_t wakes_ = 0;
};

class manual_event::awaiter {
 public:
  explicit awaiter(manual_event& ev) noexcept : ev_(ev) {}
  awaiter(const awaiter&) = delete;
  awaiter& operator=(const awaiter&) = delete;

  ~awaiter() {
    if (task_ == nullptr) return;
    bool drop = false;
    {
      std::lock_guard lock(ev_.mutex_);
      if (linked_) {
        // Only when the waiting frame is destroyed while parked (runtime
        // shutdown): nobody will wake us, so the waker's reference is ours.
        ev_.unlink(this);
        drop = true;
      }
    }
    if (drop) task_->release();
  }

  bool await_ready() {
    detail::task_header* me = detail::current_task();
    if (me == nullptr) {
      throw std::logic_error("manual_event::wait awaited outside a spawned task");
    }
    if (me->is_cancelled()) {
      withdrawn_ = true;
      return true;
    }
    return false;
  }

  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    std::lock_guard lock(ev_.mutex_);
    if (ev_.set_) return false;
    node_.poll = &poll;
    node_.handle = awaiting;
    node_.owner = this;
    task_ = me;
    me->resume_ = reinterpret_cast<std::uintptr_t>(static_cast<detail::wait_node*>(&node_)) | 1u;
    me->add_ref();  // the waker's reference: consumed by set() or a withdrawal
    ev_.link(this);
    return true;
  }

  void await_resume() const {
    if (withdrawn_) throw cancelled{};
  }

 private:
  friend class manual_event;

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    awaiter* self = static_cast<owned_node*>(node)->owner;
    // acquire: pairs with the release in set(); nothing else to read, but a
    // ready awaiter is owned by this thread again.
    if (self->ready_.load(std::memory_order_acquire)) return true;
    if (!cancel) return false;  // a stale wake
    {
      std::lock_guard lock(self->ev_.mutex_);
      if (self->ready_.load(std::memory_order_relaxed)) return true;  // set() won
      if (!self->linked_) return false;  // unreachable: linked until ready/withdrawn
      self->ev_.unlink(self);
      self->withdrawn_ = true;
    }
    self->task_->release();  // the waker's reference: no waker any more
    return true;
  }

  /// The node the worker polls, with a way back to its awaiter.
  struct owned_node : detail::wait_node {
    awaiter* owner = nullptr;
  };

  manual_event& ev_;
  owned_node node_{};
  detail::task_header* task_ = nullptr;
  awaiter* prev_ = nullptr;
  awaiter* next_ = nullptr;
  bool linked_ = false;  // guarded by ev_.mutex_
  bool withdrawn_ = false;
  std::atomic<bool> ready_{false};
};

inline manual_event::awaiter manual_event::wait() noexcept { return awaiter{*this}; }

inline void manual_event::link(awaiter* a) noexcept {
  a->prev_ = tail_;
  a->next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = a;
  } else {
    head_ = a;
  }
  tail_ = a;
  a->linked_ = true;
  ++count_;
}

inline void manual_event::unlink(awaiter* a) noexcept {
  if (a->prev_ != nullptr) {
    a->prev_->next_ = a->next_;
  } else {
    head_ = a->next_;
  }
  if (a->next_ != nullptr) {
    a->next_->prev_ = a->prev_;
  } else {
    tail_ = a->prev_;
  }
  a->prev_ = a->next_ = nullptr;
  a->linked_ = false;
  --count_;
}

inline void manual_event::set() {
  std::vector<detail::task_header*> woken;
  {
    std::lock_guard lock(mutex_);
    set_ = true;
    woken.reserve(count_);
    while (awaiter* a = head_) {
      unlink(a);
      woken.push_back(a->task_);
      // release: pairs with the acquire in poll(). After this store the
      // awaiter may be resumed by a cancel poll and destroyed: do not touch it.
      a->ready_.store(true, std::memory_order_release);
    }
    if (!woken.empty()) ++wakes_;
  }
  for (detail::task_header* t : woken) t->wake_by_val();
}

}  // namespace brigade::testing
