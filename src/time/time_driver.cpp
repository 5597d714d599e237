#include "time/time_driver.hpp"

#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

namespace brigade::detail {

namespace {
constexpr std::int64_t ns_per_tick = 1'000'000;
}

time_driver::time_driver(clock_kind kind) : kind_(kind), origin_(clock::now()) {}

time_driver::clock::time_point time_driver::now() const noexcept {
  if (kind_ == clock_kind::paused) {
    // relaxed: virtual time is published to tasks through the wake that
    // follows an advance (queue push + state transition).
    return origin_ + std::chrono::nanoseconds(virtual_ns_.load(memory_order_relaxed));
  }
  return clock::now();
}

std::uint64_t time_driver::tick_floor(clock::time_point t) const noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count();
  return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns / ns_per_tick);
}

std::uint64_t time_driver::tick_ceil(clock::time_point t) const noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count();
  return ns <= 0 ? 0 : static_cast<std::uint64_t>((ns + ns_per_tick - 1) / ns_per_tick);
}

bool time_driver::register_timer(timer_entry& e, task_header* task, clock::time_point deadline,
                                 bool& wake_driver) {
  wake_driver = false;
  const std::uint64_t due = tick_ceil(deadline);
  if (due <= tick_floor(now())) return false;
  std::lock_guard lock(mutex_);
  e.deadline_tick_ = due;
  if (!wheel_.insert(e)) return false;  // the wheel already passed it
  task->add_ref();                      // the waker's reference, consumed by fire_due's wake
  e.task_ = task;
  // relaxed: read by the owner's poll only after a wake (which orders it).
  e.state_.store(timer_entry::state::registered, memory_order_relaxed);
  wake_driver = due < parked_until_;
  return true;
}

bool time_driver::cancel(timer_entry& e) noexcept {
  task_header* task = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (e.state_.load(memory_order_relaxed) != timer_entry::state::registered) return false;
    wheel_.remove(e);
    e.state_.store(timer_entry::state::idle, memory_order_relaxed);
    task = std::exchange(e.task_, nullptr);
  }
  task->release();
  return true;
}

std::size_t time_driver::fire_due() noexcept {
  const std::uint64_t now_tick = tick_floor(now());
  // Collected under the lock, woken after it: waking takes queue locks and
  // may unpark threads. A thread-local list keeps its capacity between
  // calls (fire_due may run on any worker, so it cannot be a member).
  thread_local std::vector<task_header*> firing;
  {
    std::lock_guard lock(mutex_);
    while (timer_entry* e = wheel_.poll(now_tick)) {
      // Take the task before publishing "fired": from then on the owner may
      // resume and destroy the entry.
      task_header* t = std::exchange(e->task_, nullptr);
      // release: pairs with the acquire in the awaiter's poll.
      e->state_.store(timer_entry::state::fired, memory_order_release);
      try {
        firing.push_back(t);
      } catch (...) {
        t->wake_by_val();  // out of memory: wake under the lock instead
      }
    }
  }
  const std::size_t n = firing.size();
  for (task_header* t : firing) t->wake_by_val();
  firing.clear();
  return n;
}

void time_driver::reset(timer_entry& e, clock::time_point deadline, bool& wake_driver) noexcept {
  wake_driver = false;
  task_header* fire_now = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (e.state_.load(memory_order_relaxed) != timer_entry::state::registered) return;
    wheel_.remove(e);
    e.deadline_tick_ = tick_ceil(deadline);
    if (e.deadline_tick_ <= tick_floor(now()) || !wheel_.insert(e)) {
      fire_now = std::exchange(e.task_, nullptr);
      e.state_.store(timer_entry::state::fired, memory_order_release);
    } else {
      wake_driver = e.deadline_tick_ < parked_until_;
    }
  }
  if (fire_now != nullptr) fire_now->wake_by_val();
}

std::optional<std::chrono::nanoseconds> time_driver::park_timeout() noexcept {
  std::lock_guard lock(mutex_);
  const auto next = wheel_.next_expiration();
  if (!next) {
    parked_until_ = UINT64_MAX;
    return std::nullopt;
  }
  parked_until_ = *next;
  if (kind_ == clock_kind::paused) return std::chrono::nanoseconds(0);
  const auto deadline = origin_ + std::chrono::nanoseconds(*next * ns_per_tick);
  return std::max(std::chrono::nanoseconds(0),
                  std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - clock::now()));
}

void time_driver::unparked() noexcept {
  std::lock_guard lock(mutex_);
  parked_until_ = 0;  // awake: every new timer is seen by the next park
}

bool time_driver::advance_to_next_deadline() noexcept {
  std::optional<std::uint64_t> next;
  {
    std::lock_guard lock(mutex_);
    next = wheel_.next_expiration();
  }
  if (!next) return false;
  const std::int64_t target = static_cast<std::int64_t>(*next) * ns_per_tick;
  std::int64_t cur = virtual_ns_.load(memory_order_relaxed);
  while (cur < target && !virtual_ns_.compare_exchange_weak(cur, target, memory_order_relaxed)) {
  }
  fire_due();
  return true;
}

void time_driver::advance(std::chrono::nanoseconds d) noexcept {
  virtual_ns_.fetch_add(d.count(), memory_order_relaxed);
}

bool time_driver::has_timers() const noexcept {
  std::lock_guard lock(mutex_);
  return !wheel_.empty();
}

}  // namespace brigade::detail
