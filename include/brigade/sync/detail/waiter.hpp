#pragma once
// The waiter machinery shared by every sync primitive and channel.
//
// Moving parts
//   sync_waiter   one waiting party: a task (inside its awaiter, so inside the
//                 waiting frame) or a plain thread (on its stack). It is the
//                 wait_node the worker polls, plus the links of an intrusive
//                 FIFO list: a waiting task allocates nothing.
//   waiter_list   a primitive's FIFO of waiters, guarded by the primitive's
//                 spin_lock.
//   wake_list     the waiters a firer unlinked under the lock, to be woken
//                 after the lock is released (chained through next_, which
//                 is free once a waiter is unlinked).
//
// The fire protocol (every primitive follows it)
//   1. Under the primitive's lock the firer unlinks the waiter (linked_ =
//      false), writes the outcome into it (ownership handed over, permits
//      granted, a value moved out of a sender ...) and pushes it on a
//      wake_list. Why under the lock: a linked waiter belongs to the
//      primitive; the lock is what the waiter's own withdrawal takes.
//   2. After unlocking, wake_list stores `ready` (release) and only then wakes:
//      a task through wake_by_val (consuming the reference the waiter took
//      when it suspended), a thread through a futex notify followed by
//      `released`. Why after unlocking: the woken task may run on another
//      worker at once and take the same lock. Why the store comes last for a
//      task: once `ready` is visible the task may resume (a stale wake or an
//      abort polls it) and destroy the awaiter, so the firer reads task_ and
//      next_ before the store and touches only the task header after it.
//   3. Between steps 1 and 2 the waiter is "firing": unlinked but not ready.
//      A cancel poll that finds it so returns false (stay suspended): the
//      wake of step 2 is on its way and the next poll sees `ready`. A
//      destructor that finds it so (runtime shutdown destroying the frame)
//      spins until `ready`, because the firer still touches it.
//   4. A thread waiter sleeps on state_ until `released`: the firer's last
//      touch. Only then may it return and pop the waiter off its stack.
//
// Which thread touches what
//   prev_, next_, linked_, outcome fields: under the primitive's lock while
//   linked or firing; the owner alone once ready.
//   state_: any thread, atomically.
//   poll, handle, task_: written by the owner before the waiter is linked.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/detail/wait_info.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace brigade::detail {

/// A test-and-test-and-set lock for the short critical sections of the
/// primitives (a few pointer writes). Falls back to yielding the thread so a
/// preempted holder on a busy machine is not spun against forever.
class spin_lock {
 public:
  spin_lock() noexcept = default;
  spin_lock(const spin_lock&) = delete;
  spin_lock& operator=(const spin_lock&) = delete;

  void lock() noexcept {
    for (;;) {
      // acquire: pairs with the release in unlock(): the previous holder's
      // writes to the primitive are visible.
      if (!locked_.exchange(true, memory_order_acquire)) return;
      for (int spins = 0; locked_.load(memory_order_relaxed); ++spins) {
        if (spins < 100) {
          spin_pause();
        } else {
          spin_yield();
        }
      }
    }
  }
  bool try_lock() noexcept {
    // acquire: as in lock().
    return !locked_.load(memory_order_relaxed) && !locked_.exchange(true, memory_order_acquire);
  }
  void unlock() noexcept {
    // release: pairs with the acquire exchange in lock().
    locked_.store(false, memory_order_release);
  }

 private:
  atomic<bool> locked_{false};
};

/// One waiting party (see the protocol above).
struct sync_waiter : wait_node {
  static constexpr std::uint32_t waiting = 0;
  static constexpr std::uint32_t ready = 1;
  static constexpr std::uint32_t released = 2;  // thread waiters: firer done

  sync_waiter() noexcept = default;
  sync_waiter(const sync_waiter&) = delete;
  sync_waiter& operator=(const sync_waiter&) = delete;

  sync_waiter* prev_ = nullptr;
  sync_waiter* next_ = nullptr;
  task_header* task_ = nullptr;  // null: a plain thread waits
  atomic<std::uint32_t> state_{waiting};
  bool linked_ = false;

  bool is_ready() const noexcept {
    // acquire: pairs with the release store in wake_list::wake_all(): the
    // outcome the firer wrote under the lock is visible.
    return state_.load(memory_order_acquire) != waiting;
  }

  /// Makes this waiter the current task's wait node. Called under the
  /// primitive's lock, before linking. Takes the waker's reference.
  /// `kind` and `subject` say where the task waits (dump_tasks, tracing).
  void prepare_task(task_header* me, std::coroutine_handle<> awaiting, poll_fn fn, wait_kind kind,
                    const void* subject) noexcept {
    set_wait(me, kind, subject);
    poll = fn;
    handle = awaiting;
    task_ = me;
    me->resume_ = reinterpret_cast<std::uintptr_t>(static_cast<wait_node*>(this)) | 1u;
    me->add_ref();  // consumed by the firer's wake_by_val, or by a withdrawal
  }

  /// A plain thread blocks here until the firer is done with the waiter.
  void wait_as_thread() noexcept {
    for (;;) {
      // acquire: pairs with the release stores in wake_all().
      const std::uint32_t s = state_.load(memory_order_acquire);
      if (s == released) return;
      if (s == waiting) {
        state_.wait(waiting, memory_order_acquire);
      } else {
        spin_pause();  // the firer is between its notify and `released`
      }
    }
  }

  /// Step 3 of the protocol: the firer unlinked us and is about to store
  /// `ready`; wait for it (a handful of instructions away).
  void wait_until_ready() const noexcept {
    for (int spins = 0; !is_ready(); ++spins) {
      if (spins < 100) {
        spin_pause();
      } else {
        spin_yield();
      }
    }
  }
};

/// A primitive's FIFO of waiters. Guarded by the primitive's lock.
class waiter_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  sync_waiter* front() const noexcept { return head_; }

  void push_back(sync_waiter* w) noexcept {
    w->prev_ = tail_;
    w->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = w;
    } else {
      head_ = w;
    }
    tail_ = w;
    w->linked_ = true;
    ++size_;
  }

  void remove(sync_waiter* w) noexcept {
    if (w->prev_ != nullptr) {
      w->prev_->next_ = w->next_;
    } else {
      head_ = w->next_;
    }
    if (w->next_ != nullptr) {
      w->next_->prev_ = w->prev_;
    } else {
      tail_ = w->prev_;
    }
    w->prev_ = w->next_ = nullptr;
    w->linked_ = false;
    --size_;
  }

  sync_waiter* pop_front() noexcept {
    sync_waiter* w = head_;
    if (w != nullptr) remove(w);
    return w;
  }

 private:
  sync_waiter* head_ = nullptr;
  sync_waiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// Waiters unlinked under a lock, woken when this object is destroyed.
/// Declare it before the lock guard: destruction order then wakes after
/// unlocking (step 2 of the protocol).
class wake_list {
 public:
  wake_list() noexcept = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;
  ~wake_list() { wake_all(); }

  /// `w` must be unlinked already. Under the primitive's lock.
  void push(sync_waiter* w) noexcept {
    w->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = w;
    } else {
      head_ = w;
    }
    tail_ = w;
  }

  bool empty() const noexcept { return head_ == nullptr; }

  void wake_all() noexcept {
    while (sync_waiter* w = head_) {
      head_ = w->next_;
      if (head_ == nullptr) tail_ = nullptr;
      if (task_header* t = w->task_) {
        // release: pairs with the acquire in sync_waiter::is_ready(). After
        // this store the awaiter may be destroyed: only `t` is touched.
        w->state_.store(sync_waiter::ready, memory_order_release);
        t->wake_by_val();
      } else {
        // release: pairs with the acquire in wait_as_thread().
        w->state_.store(sync_waiter::ready, memory_order_release);
        w->state_.notify_one();
        // release: the thread may return once it sees this; last touch.
        w->state_.store(sync_waiter::released, memory_order_release);
      }
    }
  }

 private:
  sync_waiter* head_ = nullptr;
  sync_waiter* tail_ = nullptr;
};

/// The current task, for an awaiter that may suspend it.
/// Throws: std::logic_error when awaited outside a spawned task.
inline task_header* current_task_or_throw(const char* what) {
  task_header* me = current_task();
  if (me == nullptr) {
    throw std::logic_error(std::string(what) + " awaited outside a spawned task");
  }
  return me;
}

/// blocking_* calls park the OS thread: inside a runtime that would stall a
/// worker (or deadlock a current_thread runtime), so they are refused there.
/// Throws: std::logic_error on a thread that drives a runtime.
inline void check_blocking_allowed(const char* what) {
  if (current_scheduler() != nullptr) {
    throw std::logic_error(std::string(what) +
                           " called on a runtime thread (it would block a worker): "
                           "co_await the async form instead");
  }
}

/// Yields the current task once with its operation already complete (the
/// cooperative budget ran out): the task is re-queued and resumes `awaiting`
/// directly, without a poll.
inline void yield_completed(task_header* me, std::coroutine_handle<> awaiting) noexcept {
  me->resume_ = reinterpret_cast<std::uintptr_t>(awaiting.address());
  me->wake_by_ref();  // RUNNING: the worker re-queues the task after this run
}

}  // namespace brigade::detail
