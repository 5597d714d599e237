#pragma once
// One task parked on a queue that the I/O driver fills: the multishot
// accept queue (accept_queue.hpp) and the multishot recv queue
// (recv_queue.hpp). Both queues derive from waited_queue; their readers
// await a queue_wait.
//
// Protocol (every step under the queue's mutex_)
//   1. Parking (queue_wait::await_suspend, the reading task): unless the
//      queue has news (has_news_locked(): something queued, an end to
//      report, or nothing in flight to wait for), the task links itself as
//      the queue's only waiter and takes a waker reference on itself.
//   2. Waking (unlink_waiter_locked(), the driver): unlinks the waiter and
//      marks it woken (a release store); the driver wakes the returned task
//      after unlocking, which consumes the waker reference. The awaiter may
//      be resumed and destroyed as soon as the mark is stored.
//   3. Withdrawal (poll(cancel), the task's abort): unless already woken,
//      the waiter unlinks itself and drops the waker reference; the await
//      throws brigade::cancelled. Nothing is handed to a waiter: what the
//      driver queued stays queued for the next read ("completed XOR
//      cancelled").
//   4. A waiting frame destroyed while linked (runtime shutdown) unlinks
//      itself as in step 3.

#include "io/io_source.hpp"

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>

namespace brigade::detail {

class queue_wait;

/// The part of a driver-fed queue that a waiting task needs.
class waited_queue {
 public:
  waited_queue(const waited_queue&) = delete;
  waited_queue& operator=(const waited_queue&) = delete;
  virtual ~waited_queue() = default;

  /// The socket the queue belongs to (a listener or a stream).
  int fd() const noexcept { return fd_; }

 protected:
  waited_queue(std::shared_ptr<reactor> core, int fd) noexcept : core_(std::move(core)), fd_(fd) {}

  /// mutex_ held: whether a reader must look at the queue again instead of
  /// parking (step 1).
  virtual bool has_news_locked() const noexcept = 0;

  /// mutex_ held (step 2): unlinks the parked waiter, if any, and returns
  /// its task, to wake (wake_by_val) after unlocking; null when none waits.
  task_header* unlink_waiter_locked() noexcept;

  std::shared_ptr<reactor> core_;
  int fd_;
  mutable std::mutex mutex_;

 private:
  friend class queue_wait;
  /// mutex_ held: takes the parked waiter off the queue (steps 2 to 4).
  queue_wait* take_waiter_locked() noexcept;

  queue_wait* waiter_ = nullptr;  // guarded by mutex_
};

/// Suspends the reading task until its queue has news. Resumes on the
/// worker that runs the task after the driver's wake.
class queue_wait {
 public:
  explicit queue_wait(waited_queue& q) noexcept : queue_(&q) {}
  queue_wait(const queue_wait&) = delete;
  queue_wait& operator=(const queue_wait&) = delete;
  ~queue_wait();

  bool await_ready() const noexcept { return false; }
  /// Throws std::logic_error outside a spawned task.
  bool await_suspend(std::coroutine_handle<> awaiting);
  /// Throws brigade::cancelled when the task was aborted while waiting.
  void await_resume() const;

 private:
  friend class waited_queue;
  enum : std::uint8_t { idle = 0, linked = 1, woken = 2 };
  static bool poll(wait_node* node, bool cancel) noexcept;

  wait_node node_;  // first member: poll() recovers the awaiter from it
  waited_queue* queue_;
  task_header* task_ = nullptr;
  atomic<std::uint8_t> state_{idle};
  bool withdrawn_ = false;
};

}  // namespace brigade::detail
