#include "runtime/scheduler/multi_thread/idle.hpp"

#include <algorithm>

namespace brigade::detail {

int idle::worker_to_notify() noexcept {
  if (!notify_should_wakeup()) return -1;
  std::lock_guard lock(mutex_);
  if (!notify_should_wakeup() || sleepers_.empty()) return -1;
  // The woken worker starts out searching: count it before it runs, so
  // the next notify sees a searcher and does not wake a second one.
  state_.fetch_add(unparked_one | 1u, memory_order_seq_cst);
  const std::size_t w = sleepers_.back();
  sleepers_.pop_back();
  return static_cast<int>(w);
}

bool idle::transition_worker_to_searching() noexcept {
  const std::uint32_t s = state_.load(memory_order_seq_cst);
  if (2 * (s & searching_mask) >= workers_) return false;
  state_.fetch_add(1u, memory_order_seq_cst);
  return true;
}

bool idle::transition_worker_from_searching() noexcept {
  const std::uint32_t prev = state_.fetch_sub(1u, memory_order_seq_cst);
  return (prev & searching_mask) == 1;
}

bool idle::transition_worker_to_parked(std::size_t worker, bool searching) noexcept {
  std::lock_guard lock(mutex_);
  const std::uint32_t dec = unparked_one | (searching ? 1u : 0u);
  const std::uint32_t prev = state_.fetch_sub(dec, memory_order_seq_cst);
  sleepers_.push_back(worker);
  return searching && (prev & searching_mask) == 1;
}

bool idle::is_notified(std::size_t worker) noexcept {
  std::lock_guard lock(mutex_);
  return std::find(sleepers_.begin(), sleepers_.end(), worker) == sleepers_.end();
}

bool idle::unpark_self(std::size_t worker) noexcept {
  std::lock_guard lock(mutex_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
  if (it == sleepers_.end()) return false;  // a notifier already counted us
  sleepers_.erase(it);
  state_.fetch_add(unparked_one, memory_order_seq_cst);
  return true;
}

void idle::unpark_all_for_shutdown(std::vector<std::size_t>& out) noexcept {
  std::lock_guard lock(mutex_);
  out = sleepers_;
}

}  // namespace brigade::detail
