#pragma once
// The shared queue through which other threads hand tasks to a scheduler
// (remote spawns and wake-ups). A mutex guards the list; an atomic length
// lets the owner skip the lock when it is empty (the common case).
//
// Closing is part of the queue so that "push after close" and "close after
// push" are ordered by the same lock: shutdown drains everything pushed
// before it closed, and every later push is refused.

#include "runtime/task_list.hpp"

#include <brigade/detail/atomic.hpp>

#include <mutex>

namespace brigade::detail {

class inject_queue {
 public:
  /// Returns false (and queues nothing) once closed.
  bool push(task_header* t) noexcept {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    list_.push_back(t);
    // release: pairs with the acquire in empty(); the task is visible via
    // the mutex anyway, the counter is only a hint.
    len_.store(list_.size(), memory_order_release);
    return true;
  }

  /// Pushes a whole list (local queue overflow). Once closed, the tasks are
  /// left in `batch` for the caller.
  bool push_batch(task_list& batch) noexcept {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    list_.append(batch);
    len_.store(list_.size(), memory_order_release);
    return true;
  }

  /// Moves every queued task into `out`.
  void take_all(task_list& out) noexcept {
    if (empty()) return;
    std::lock_guard lock(mutex_);
    out.append(list_);
    len_.store(0, memory_order_relaxed);
  }

  task_header* pop() noexcept {
    if (empty()) return nullptr;
    std::lock_guard lock(mutex_);
    task_header* t = list_.pop_front();
    len_.store(list_.size(), memory_order_relaxed);
    return t;
  }

  /// Moves up to `max` tasks, oldest first, into `out` under one lock.
  /// Returns how many.
  std::size_t pop_batch(std::size_t max, task_list& out) noexcept {
    if (empty() || max == 0) return 0;
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    while (n < max) {
      task_header* t = list_.pop_front();
      if (t == nullptr) break;
      out.push_back(t);
      ++n;
    }
    len_.store(list_.size(), memory_order_relaxed);
    return n;
  }

  /// Refuses later pushes. Returns what was queued.
  void close(task_list& out) noexcept {
    std::lock_guard lock(mutex_);
    closed_ = true;
    out.append(list_);
    len_.store(0, memory_order_relaxed);
  }

  bool is_closed() const noexcept {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  bool empty() const noexcept { return len_.load(memory_order_acquire) == 0; }
  std::size_t size() const noexcept { return len_.load(memory_order_relaxed); }

 private:
  mutable std::mutex mutex_;
  task_list list_;
  bool closed_ = false;
  atomic<std::size_t> len_{0};
};

}  // namespace brigade::detail
