// brigade::notify: see include/brigade/sync/notify.hpp for the protocol.

#include <brigade/sync/notify.hpp>

namespace brigade {

void notify::notify_one() noexcept {
  detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
  std::lock_guard hold(lock_);
  if (detail::sync_waiter* w = waiters_.pop_front()) {
    static_cast<waiter*>(w)->by_one_ = true;
    wakes.push(w);
    return;
  }
  permit_ = true;
}

void notify::notify_all() noexcept {
  detail::wake_list wakes;
  std::lock_guard hold(lock_);
  while (detail::sync_waiter* w = waiters_.pop_front()) {
    static_cast<waiter*>(w)->by_one_ = false;
    wakes.push(w);
  }
}

std::size_t notify::waiters() const noexcept {
  std::lock_guard hold(lock_);
  return waiters_.size();
}

bool notify::withdraw(waiter* w) noexcept {
  std::lock_guard hold(lock_);
  if (!w->linked_) return false;
  waiters_.remove(w);
  return true;
}

void notify::blocking_notified() {
  detail::check_blocking_allowed("brigade::notify::blocking_notified");
  waiter w;
  if (consume_or_link(&w, [] {})) return;
  w.wait_as_thread();
}

notify::notified_awaiter::~notified_awaiter() {
  switch (phase_) {
    case phase::queued:
      // Only when the waiting frame is destroyed (runtime shutdown).
      if (owner_.withdraw(this)) {
        task_->release();  // no waker any more: its reference is ours
        return;
      }
      wait_until_ready();  // being notified right now
      if (by_one_) owner_.notify_one();
      return;
    case phase::yielded:
      owner_.notify_one();  // consumed a permit but never delivered it
      return;
    default:
      return;
  }
}

bool notify::notified_awaiter::poll(detail::wait_node* node, bool cancel) noexcept {
  auto* self = static_cast<notified_awaiter*>(static_cast<waiter*>(node));
  if (self->is_ready()) {
    if (cancel) {
      self->phase_ = phase::withdrawn;
      if (self->by_one_) self->owner_.notify_one();  // pass it on
    } else {
      self->phase_ = phase::done;
    }
    return true;
  }
  if (!cancel) return false;                       // a stale wake
  if (!self->owner_.withdraw(self)) return false;  // firing: its wake re-polls us
  self->phase_ = phase::withdrawn;
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

}  // namespace brigade
