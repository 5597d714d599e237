// brigade::barrier: see include/brigade/sync/barrier.hpp for the phases.

#include <brigade/sync/barrier.hpp>

#include <stdexcept>

namespace brigade {

barrier::barrier(std::size_t n) : parties_(n) {
  if (n == 0) throw std::invalid_argument("brigade::barrier: needs at least one party");
}

std::size_t barrier::waiters() const noexcept {
  std::lock_guard hold(lock_);
  return waiters_.size();
}

bool barrier::withdraw(detail::sync_waiter* w) noexcept {
  std::lock_guard hold(lock_);
  if (!w->linked_) return false;
  waiters_.remove(w);
  --arrived_;  // a linked waiter belongs to the current phase
  return true;
}

barrier::wait_result barrier::blocking_arrive_and_wait() {
  detail::check_blocking_allowed("brigade::barrier::blocking_arrive_and_wait");
  detail::sync_waiter w;
  if (arrive_or_link(&w, [] {})) return wait_result{true};
  w.wait_as_thread();
  return wait_result{false};
}

barrier::arrive_awaiter::~arrive_awaiter() {
  if (phase_ != phase::queued) return;
  // Only when the waiting frame is destroyed (runtime shutdown).
  if (barrier_.withdraw(this)) {
    task_->release();  // no waker any more: its reference is ours
  } else {
    wait_until_ready();  // the phase is completing right now
  }
}

bool barrier::arrive_awaiter::poll(detail::wait_node* node, bool cancel) noexcept {
  auto* self = static_cast<arrive_awaiter*>(static_cast<detail::sync_waiter*>(node));
  if (self->is_ready()) {
    self->phase_ = phase::released;  // the phase completed: partial cancellation
    return true;
  }
  if (!cancel) return false;                         // a stale wake
  if (!self->barrier_.withdraw(self)) return false;  // firing: its wake re-polls us
  self->phase_ = phase::withdrawn;
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

}  // namespace brigade
