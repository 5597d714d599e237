// brigade::semaphore: grants, withdrawals and the blocking form. The
// invariants are at the top of include/brigade/sync/semaphore.hpp.

#include <brigade/sync/semaphore.hpp>

namespace brigade {

void semaphore::grant_locked(detail::wake_list& wakes) noexcept {
  while (!waiters_.empty()) {
    auto* head = static_cast<waiter*>(waiters_.front());
    if (head->wanted_ > permits_) return;
    permits_ -= head->wanted_;
    waiters_.remove(head);
    wakes.push(head);
  }
}

void semaphore::add_permits(std::size_t n) noexcept {
  detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
  std::lock_guard hold(lock_);
  permits_ += n;
  grant_locked(wakes);
}

void semaphore::close() noexcept {
  detail::wake_list wakes;
  std::lock_guard hold(lock_);
  closed_ = true;
  while (detail::sync_waiter* w = waiters_.pop_front()) {
    static_cast<waiter*>(w)->closed_ = true;
    wakes.push(w);
  }
}

bool semaphore::is_closed() const noexcept {
  std::lock_guard hold(lock_);
  return closed_;
}

std::size_t semaphore::available_permits() const noexcept {
  std::lock_guard hold(lock_);
  return permits_;
}

std::size_t semaphore::waiters() const noexcept {
  std::lock_guard hold(lock_);
  return waiters_.size();
}

std::optional<semaphore::permit> semaphore::try_acquire(std::size_t n) noexcept {
  std::lock_guard hold(lock_);
  if (closed_ || !waiters_.empty() || permits_ < n) return std::nullopt;
  permits_ -= n;
  return permit{*this, n};
}

bool semaphore::withdraw(waiter* w) noexcept {
  detail::wake_list wakes;
  std::lock_guard hold(lock_);
  if (!w->linked_) return false;
  waiters_.remove(w);
  grant_locked(wakes);
  return true;
}

semaphore::permit semaphore::blocking_acquire(std::size_t n) {
  detail::check_blocking_allowed("brigade::semaphore::blocking_acquire");
  waiter w;
  switch (acquire_or_link(&w, n, [] {})) {
    case acquire_outcome::acquired:
      return permit{*this, n};
    case acquire_outcome::closed:
      throw semaphore_closed{};
    case acquire_outcome::queued:
      break;
  }
  w.wait_as_thread();
  if (w.closed_) throw semaphore_closed{};
  return permit{*this, n};
}

semaphore::acquire_awaiter::~acquire_awaiter() {
  switch (phase_) {
    case phase::queued:
      // Only when the waiting frame is destroyed (runtime shutdown).
      if (sem_.withdraw(this)) {
        task_->release();  // no waker any more: its reference is ours
        return;
      }
      wait_until_ready();  // being granted or closed right now
      if (!closed_) sem_.add_permits(n_);
      return;
    case phase::owned:
    case phase::yielded:
      sem_.add_permits(n_);
      return;
    default:
      return;
  }
}

bool semaphore::acquire_awaiter::poll(detail::wait_node* node, bool cancel) noexcept {
  auto* self = static_cast<acquire_awaiter*>(static_cast<waiter*>(node));
  if (self->is_ready()) {
    if (self->closed_) {
      self->phase_ = cancel ? phase::withdrawn : phase::closed;
    } else if (cancel) {
      // Granted to an aborted task: return the permits (total cancellation).
      self->phase_ = phase::withdrawn;
      self->sem_.add_permits(self->n_);
    } else {
      self->phase_ = phase::owned;
    }
    return true;
  }
  if (!cancel) return false;                     // a stale wake
  if (!self->sem_.withdraw(self)) return false;  // firing: its wake re-polls us
  self->phase_ = phase::withdrawn;
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

}  // namespace brigade
