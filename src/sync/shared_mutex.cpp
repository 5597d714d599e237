// brigade::shared_mutex: grants, unlocks, withdrawals, blocking forms. The
// fairness rule is described at the top of include/brigade/sync/shared_mutex.hpp.

#include <brigade/sync/shared_mutex.hpp>

namespace brigade {

void shared_mutex::grant_locked(detail::wake_list& wakes) noexcept {
  while (!waiters_.empty()) {
    auto* head = static_cast<waiter*>(waiters_.front());
    if (!can_grant_locked(head->kind_)) return;
    take_locked(head->kind_);
    waiters_.remove(head);
    wakes.push(head);
  }
}

bool shared_mutex::try_take(access kind) noexcept {
  std::lock_guard hold(lock_);
  if (!waiters_.empty() || !can_grant_locked(kind)) return false;
  take_locked(kind);
  return true;
}

void shared_mutex::unlock(access kind) noexcept {
  detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
  std::lock_guard hold(lock_);
  if (kind == access::exclusive) {
    writer_ = false;
  } else {
    --readers_;
  }
  grant_locked(wakes);
}

bool shared_mutex::withdraw(waiter* w) noexcept {
  detail::wake_list wakes;
  std::lock_guard hold(lock_);
  if (!w->linked_) return false;
  waiters_.remove(w);
  grant_locked(wakes);
  return true;
}

void shared_mutex::blocking_take(access kind) {
  detail::check_blocking_allowed(kind == access::exclusive
                                     ? "brigade::shared_mutex::blocking_lock"
                                     : "brigade::shared_mutex::blocking_lock_shared");
  waiter w;
  if (lock_or_link(&w, kind, [] {}) == lock_outcome::queued) w.wait_as_thread();
}

std::size_t shared_mutex::readers() const noexcept {
  std::lock_guard hold(lock_);
  return readers_;
}

bool shared_mutex::is_locked_exclusive() const noexcept {
  std::lock_guard hold(lock_);
  return writer_;
}

std::size_t shared_mutex::waiters() const noexcept {
  std::lock_guard hold(lock_);
  return waiters_.size();
}

}  // namespace brigade
