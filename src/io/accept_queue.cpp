// The multishot-accept queue of a listener (see accept_queue.hpp for the
// protocol).

#include "io/accept_queue.hpp"

#include <brigade/detail/sys.hpp>

#include <cerrno>
#include <cstdlib>

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
    if (res >= 0 || !more) woken = q->unlink_waiter_locked();
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

bool accept_queue::has_news_locked() const noexcept {
  return !fds_.empty() || error_ != 0 || !armed_;
}

}  // namespace brigade::detail
