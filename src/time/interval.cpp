#include <brigade/time/interval.hpp>

#include <stdexcept>

namespace brigade {

interval::interval(duration period, missed_tick_behavior behavior)
    : interval(brigade::now(), period, behavior) {}

interval::interval(time_point start, duration period, missed_tick_behavior behavior)
    : period_(period), behavior_(behavior), next_(start) {
  if (period <= duration::zero()) {
    throw std::invalid_argument("brigade::interval: the period must be positive");
  }
}

void interval::reset() noexcept { next_ = brigade::now() + period_; }

time_point interval::advance_schedule() noexcept {
  const time_point scheduled = next_;
  const time_point t = brigade::now();
  switch (behavior_) {
    case missed_tick_behavior::burst:
      next_ = scheduled + period_;
      break;
    case missed_tick_behavior::delay:
      next_ = (t > scheduled ? t : scheduled) + period_;
      break;
    case missed_tick_behavior::skip: {
      next_ = scheduled + period_;
      if (next_ <= t) {
        // Keep the phase: the first multiple of the period after now.
        const auto behind = (t - scheduled) / period_;
        next_ = scheduled + (behind + 1) * period_;
      }
      break;
    }
  }
  return scheduled;
}

}  // namespace brigade
