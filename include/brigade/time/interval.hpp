#pragma once
// interval: a periodic tick, with a policy for ticks missed while the task
// was busy.

#include <brigade/time/clock.hpp>
#include <brigade/time/sleep.hpp>

namespace brigade {

/// What an interval does when the task fell behind by one or more periods.
enum class missed_tick_behavior : std::uint8_t {
  burst,  ///< fire the missed ticks back to back until caught up (the default)
  delay,  ///< the next tick is one period after the late one completed
  skip,   ///< drop the missed ticks; keep the original phase
};

/// Ticks every `period`. The first tick completes at once.
///
/// Resumes on: as sleep_awaiter.
/// Cancellation: total (an aborted tick() leaves the schedule as it was).
/// Thread safety: one task uses an interval at a time.
/// Throws: std::invalid_argument for a period that is not positive.
/// Example:
///   brigade::interval iv{100ms};
///   for (;;) { co_await iv.tick(); clean_the_kitchen(); }
class interval {
 public:
  explicit interval(duration period, missed_tick_behavior behavior = missed_tick_behavior::burst);
  interval(time_point start, duration period,
           missed_tick_behavior behavior = missed_tick_behavior::burst);

  class tick_awaiter {
   public:
    explicit tick_awaiter(interval& owner) noexcept : owner_(owner), sleep_(owner.next_) {}
    bool await_ready() const noexcept { return sleep_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> self) { return sleep_.await_suspend(self); }
    /// The scheduled time of this tick.
    time_point await_resume() {
      sleep_.await_resume();
      return owner_.advance_schedule();
    }

   private:
    interval& owner_;
    sleep_awaiter sleep_;
  };

  /// Waits for the next tick and returns its scheduled time.
  [[nodiscard]] tick_awaiter tick() noexcept { return tick_awaiter{*this}; }

  /// Restarts the schedule: the next tick is one period from now.
  void reset() noexcept;
  duration period() const noexcept { return period_; }
  missed_tick_behavior behavior() const noexcept { return behavior_; }

 private:
  time_point advance_schedule() noexcept;

  duration period_;
  missed_tick_behavior behavior_;
  time_point next_;
};

}  // namespace brigade
