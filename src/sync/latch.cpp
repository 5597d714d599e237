// brigade::latch: see include/brigade/sync/latch.hpp.

#include <brigade/sync/latch.hpp>

#include <stdexcept>

namespace brigade {

void latch::count_down(std::size_t n) {
  detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
  std::lock_guard hold(lock_);
  if (n > count_) throw std::invalid_argument("brigade::latch::count_down: below zero");
  count_ -= n;
  if (count_ != 0) return;
  while (detail::sync_waiter* w = waiters_.pop_front()) wakes.push(w);
}

bool latch::try_wait() const noexcept {
  std::lock_guard hold(lock_);
  return count_ == 0;
}

std::size_t latch::count() const noexcept {
  std::lock_guard hold(lock_);
  return count_;
}

std::size_t latch::waiters() const noexcept {
  std::lock_guard hold(lock_);
  return waiters_.size();
}

bool latch::withdraw(detail::sync_waiter* w) noexcept {
  std::lock_guard hold(lock_);
  if (!w->linked_) return false;
  waiters_.remove(w);
  return true;
}

void latch::blocking_wait() {
  detail::check_blocking_allowed("brigade::latch::blocking_wait");
  detail::sync_waiter w;
  if (open_or_link(&w, [] {})) return;
  w.wait_as_thread();
}

latch::wait_awaiter::~wait_awaiter() {
  if (phase_ != phase::queued) return;
  // Only when the waiting frame is destroyed (runtime shutdown).
  if (latch_.withdraw(this)) {
    task_->release();  // no waker any more: its reference is ours
  } else {
    wait_until_ready();  // the latch is opening right now
  }
}

bool latch::wait_awaiter::poll(detail::wait_node* node, bool cancel) noexcept {
  auto* self = static_cast<wait_awaiter*>(static_cast<detail::sync_waiter*>(node));
  if (self->is_ready()) {
    self->phase_ = cancel ? phase::withdrawn : phase::opened;  // nothing to undo
    return true;
  }
  if (!cancel) return false;                       // a stale wake
  if (!self->latch_.withdraw(self)) return false;  // firing: its wake re-polls us
  self->phase_ = phase::withdrawn;
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

}  // namespace brigade
