#pragma once
// The time driver of a runtime: the timer wheel, the clock, and the lock
// that lets any worker register or cancel timers.
//
// Who calls what
//   register/cancel   any thread (a task's sleep awaiter, its poll, its
//                     destructor), under mutex_.
//   fire_due          the thread that holds the runtime's driver (the parked
//                     or maintaining worker): pops due entries under mutex_,
//                     marks each fired (release), and wakes their tasks after
//                     unlocking (each entry holds a waker reference, so the
//                     task stays alive even if its poll already saw "fired").
//   park_timeout      the driver holder, before sleeping.
//
// Clocks
//   steady: now() is steady_clock::now().
//   paused: now() is origin_ + virtual_; virtual time moves only through
//   advance() (tests) and advance_to_next_deadline(), which the schedulers
//   call when every task is idle: "eggs take 5 minutes" takes microseconds.
//
// Ticks are milliseconds since origin_. A deadline is rounded up to a tick
// and "now" down, so a timer never fires before its deadline.

#include "time/timer_wheel.hpp"

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/timer_entry.hpp>
#include <brigade/runtime_options.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace brigade::detail {

class time_driver {
 public:
  using clock = std::chrono::steady_clock;

  explicit time_driver(clock_kind kind);
  time_driver(const time_driver&) = delete;
  time_driver& operator=(const time_driver&) = delete;

  clock::time_point now() const noexcept;
  bool is_paused() const noexcept { return kind_ == clock_kind::paused; }

  /// See timer_register in detail/timer_entry.hpp. Sets `wake_driver` when
  /// the new deadline is earlier than the one the driver sleeps until.
  bool register_timer(timer_entry& e, task_header* task, clock::time_point deadline,
                      bool& wake_driver);
  bool cancel(timer_entry& e) noexcept;
  /// Moves a registered entry to a new deadline (fires it at once when that
  /// has passed). No effect on an entry that is not registered.
  void reset(timer_entry& e, clock::time_point deadline, bool& wake_driver) noexcept;

  /// Fires every timer due by now(). Returns how many fired.
  std::size_t fire_due() noexcept;
  /// How long the driver may sleep: until the next deadline; nullopt when
  /// no timer is pending. Records the deadline for register_timer.
  std::optional<std::chrono::nanoseconds> park_timeout() noexcept;
  /// The driver woke up: no deadline recorded until the next park_timeout.
  void unparked() noexcept;

  /// Paused clock: jumps virtual time to the next deadline and fires what is
  /// due. Returns false when no timer is pending.
  bool advance_to_next_deadline() noexcept;
  /// Paused clock: moves virtual time forward by `d` (fires nothing itself).
  void advance(std::chrono::nanoseconds d) noexcept;

  bool has_timers() const noexcept;

 private:
  std::uint64_t tick_floor(clock::time_point t) const noexcept;
  std::uint64_t tick_ceil(clock::time_point t) const noexcept;

  const clock_kind kind_;
  const clock::time_point origin_;
  atomic<std::int64_t> virtual_ns_{0};  // paused clock only
  mutable std::mutex mutex_;
  timer_wheel wheel_;
  std::uint64_t parked_until_ = 0;  // tick the parked driver sleeps until; guarded
};

}  // namespace brigade::detail
