// brigade::mutex slow paths. The state word and the hand-over protocol are
// described at the top of include/brigade/sync/mutex.hpp.

#include <brigade/sync/mutex.hpp>

namespace brigade {

std::size_t mutex::waiters() const noexcept {
  std::lock_guard hold(lock_);
  return waiters_.size();
}

void mutex::unlock_slow() noexcept {
  detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
  std::lock_guard hold(lock_);
  if (detail::sync_waiter* w = waiters_.pop_front()) {
    // LOCKED stays set: ownership passes to w. relaxed: the new owner's view
    // of the protected data is ordered by its ready flag (release in wakes).
    if (waiters_.empty()) state_.fetch_and(~has_waiters, detail::memory_order_relaxed);
    wakes.push(w);
    return;
  }
  // HAS_WAITERS was cleared by a withdrawal after our fast CAS failed.
  // release: pairs with the acquire CAS of the next locker.
  state_.store(0, detail::memory_order_release);
}

bool mutex::withdraw(detail::sync_waiter* w) noexcept {
  std::lock_guard hold(lock_);
  if (!w->linked_) return false;
  waiters_.remove(w);
  // relaxed: only re-enables the owner's fast unlock; lock_ orders the rest.
  if (waiters_.empty()) state_.fetch_and(~has_waiters, detail::memory_order_relaxed);
  return true;
}

mutex::guard mutex::blocking_lock() {
  detail::check_blocking_allowed("brigade::mutex::blocking_lock");
  if (try_lock_fast()) return guard{*this};
  detail::sync_waiter w;
  if (lock_or_link(&w, [] {}) == lock_outcome::queued) w.wait_as_thread();
  return guard{*this};
}

mutex::lock_awaiter::~lock_awaiter() {
  switch (phase_) {
    case phase::queued:
      // Only when the waiting frame is destroyed (runtime shutdown).
      if (mutex_.withdraw(this)) {
        task_->release();  // no waker any more: its reference is ours
        return;
      }
      // Being handed the lock right now: wait for the firer, then pass it on.
      wait_until_ready();
      mutex_.unlock();
      return;
    case phase::owned:
    case phase::yielded:
      mutex_.unlock();  // destroyed between acquiring and await_resume
      return;
    default:
      return;
  }
}

bool mutex::lock_awaiter::poll(detail::wait_node* node, bool cancel) noexcept {
  auto* self = static_cast<lock_awaiter*>(static_cast<detail::sync_waiter*>(node));
  if (self->is_ready()) {
    if (cancel) {
      // The lock was handed to an aborted task: pass it on (total cancellation).
      self->phase_ = phase::withdrawn;
      self->mutex_.unlock();
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

}  // namespace brigade
