// The multishot-accept queue of a listener (see accept_queue.hpp for the
// protocol).

#include "io/accept_queue.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/sys.hpp>
#include <brigade/detail/wait_info.hpp>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace brigade::detail {

// Backends without completions never arm one (callers check
// supports_completions first).
bool reactor::submit_accept(accept_queue&) noexcept { std::abort(); }
void reactor::cancel_accept(accept_queue&) noexcept {}

void accept_queue_release::operator()(accept_queue* q) const noexcept { accept_queue::release(q); }

bool accept_queue::pop(int& result) noexcept {
  std::lock_guard lock(mutex_);
  if (!fds_.empty()) {
    result = fds_.front();
    fds_.pop_front();
    return true;
  }
  if (error_ != 0) {
    result = error_;
    error_ = 0;
    return true;
  }
  return false;
}

bool accept_queue::wants_multishot() const noexcept {
  // refused_ is written by the driver: read it under the lock.
  std::lock_guard lock(mutex_);
  return used_ > 0 && !refused_;
}

bool accept_queue::armed() noexcept {
  std::lock_guard lock(mutex_);
  return armed_;
}

void accept_queue::arm() noexcept {
  std::lock_guard lock(mutex_);
  if (armed_ || owner_gone_) return;
  armed_ = true;
  cancel_sent_ = false;
  if (!core_->submit_accept(*this)) {
    armed_ = false;  // the ring is gone: accept() reports it
    error_ = -ECANCELED;
  }
}

void accept_queue::deliver(accept_queue* q, int res, bool more) noexcept {
  task_header* woken = nullptr;
  bool free_now = false;
  {
    std::lock_guard lock(q->mutex_);
    if (res >= 0) {
      if (q->owner_gone_) {
        sys::get().close(res);  // nobody will accept it any more
      } else {
        q->fds_.push_back(res);
        if (more && !q->cancel_sent_ && q->fds_.size() >= capacity) {
          q->cancel_sent_ = true;  // step 3: enough queued
          q->core_->cancel_accept(*q);
        }
      }
    }
    if (!more) {
      q->armed_ = false;
      if (res == -EINVAL) {
        q->refused_ = true;  // step 7: no multishot on this kernel
      } else if (res < 0 && res != -ECANCELED) {
        q->error_ = res;  // EMFILE & co: the accept loop decides
      }
    }
    if (accept_wait* w = q->waiter_; w != nullptr && (res >= 0 || !more)) {
      q->waiter_ = nullptr;
      q->core_->waiting_.fetch_sub(1, memory_order_relaxed);
      woken = w->task_;
      // release: pairs with the acquire in accept_wait::poll(). The awaiter
      // may be resumed and destroyed from here on.
      w->state_.store(accept_wait::woken, memory_order_release);
    }
    free_now = !more && q->owner_gone_;
  }
  if (woken != nullptr) woken->wake_by_val();
  if (free_now) delete q;
}

void accept_queue::release(accept_queue* q) noexcept {
  bool free_now = false;
  {
    std::lock_guard lock(q->mutex_);
    q->owner_gone_ = true;
    for (const int fd : q->fds_) sys::get().close(fd);
    q->fds_.clear();
    if (q->armed_) {
      if (!q->cancel_sent_) q->core_->cancel_accept(*q);
      q->cancel_sent_ = true;
    } else {
      free_now = true;
    }
  }
  if (free_now) delete q;
}

// ---- accept_wait ----

accept_wait::~accept_wait() {
  // relaxed: only this thread links; a woken/withdrawn awaiter needs nothing.
  if (state_.load(memory_order_relaxed) != linked) return;
  bool drop = false;
  {
    std::lock_guard lock(queue_->mutex_);
    if (queue_->waiter_ == this) {  // the waiting frame dies while parked (shutdown)
      queue_->waiter_ = nullptr;
      queue_->core_->waiting_.fetch_sub(1, memory_order_relaxed);
      drop = true;
    }
  }
  if (drop) task_->release();
}

bool accept_wait::await_suspend(std::coroutine_handle<> awaiting) {
  task_header* me = current_task();
  if (me == nullptr) throw std::logic_error("brigade I/O awaited outside a spawned task");
  if (me->is_cancelled()) {
    withdrawn_ = true;
    return false;
  }
  std::lock_guard lock(queue_->mutex_);
  if (!queue_->fds_.empty() || queue_->error_ != 0 || !queue_->armed_) return false;
  set_wait(me, wait_kind::read_fd, static_cast<std::uint64_t>(static_cast<unsigned>(queue_->fd_)));
  node_.poll = &accept_wait::poll;
  node_.handle = awaiting;
  task_ = me;
  me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
  me->add_ref();  // the waker's reference: consumed by deliver() or a withdrawal
  // relaxed: read by this task's own poll and destructor, or under the lock.
  state_.store(linked, memory_order_relaxed);
  queue_->waiter_ = this;
  queue_->core_->waiting_.fetch_add(1, memory_order_relaxed);
  return true;
}

void accept_wait::await_resume() const {
  if (withdrawn_) throw cancelled{};
}

bool accept_wait::poll(wait_node* node, bool cancel) noexcept {
  auto* self = reinterpret_cast<accept_wait*>(node);
  // acquire: pairs with the release in deliver().
  if (self->state_.load(memory_order_acquire) == woken) return true;
  if (!cancel) return false;  // a stale wake
  accept_queue& q = *self->queue_;
  {
    std::lock_guard lock(q.mutex_);
    if (self->state_.load(memory_order_relaxed) == woken) return true;
    q.waiter_ = nullptr;
    q.core_->waiting_.fetch_sub(1, memory_order_relaxed);
    self->state_.store(idle, memory_order_relaxed);
    self->withdrawn_ = true;
  }
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

}  // namespace brigade::detail
