#pragma once
// What a runtime waits on when it has nothing to run: the I/O driver and
// the time driver, behind one park/unpark pair.
//
// One thread at a time holds the driver (the current_thread loop; on
// multi_thread, the first worker to park). Holding it means: sleep in
// io.poll() no longer than the next timer deadline, then fire due timers.
// Any thread may unpark() it (remote wake-ups, new timers earlier than the
// one it sleeps until).
//
// Paused clock (RELIABILITY "Clock"): virtual time moves only when every
// task is idle. The caller says whether the whole runtime is idle; if so
// and a timer is pending, time jumps to it instead of sleeping. If nothing
// at all is pending (no timer, no I/O) for a grace period of real time, park
// reports a stall: every task waits for something that cannot happen.

#include "io/driver.hpp"
#include "time/time_driver.hpp"

#include <brigade/runtime_options.hpp>

#include <chrono>
#include <memory>

namespace brigade::detail {

class driver {
 public:
  enum class runtime_state : std::uint8_t { busy, idle };
  enum class park_result : std::uint8_t { woke, stalled };

  /// Real time the paused clock waits for an outside wake-up before
  /// declaring a stall.
  static constexpr std::chrono::milliseconds stall_grace{1000};

  explicit driver(const runtime_options& options)
      : time_(options.clock), io_(make_io_driver(options.io)) {}

  time_driver& time() noexcept { return time_; }
  io_driver& io() noexcept { return *io_; }

  /// Sleeps until I/O, a due timer or unpark(), then fires due timers.
  park_result park(runtime_state state) noexcept {
    if (time_.is_paused()) return park_paused(state);
    io_->poll(time_.park_timeout());
    time_.unparked();
    time_.fire_due();
    return park_result::woke;
  }

  /// Without blocking: dispatches ready I/O and fires due timers (called
  /// every few ticks by busy schedulers so timers are not starved).
  void maintain() noexcept {
    io_->poll(std::chrono::nanoseconds(0));
    time_.fire_due();
  }

  void unpark() noexcept { io_->unpark(); }

 private:
  park_result park_paused(runtime_state state) noexcept {
    if (state == runtime_state::idle) {
      if (time_.advance_to_next_deadline()) {
        io_->poll(std::chrono::nanoseconds(0));
        return park_result::woke;
      }
      if (!io_->has_pending_io()) {
        // Only another thread can still help: give it a grace period. An
        // unpark during it is a wake-up, not a stall.
        const auto start = std::chrono::steady_clock::now();
        io_->poll(stall_grace);
        time_.fire_due();
        return std::chrono::steady_clock::now() - start >= stall_grace ? park_result::stalled
                                                                       : park_result::woke;
      }
      io_->poll(std::nullopt);
      time_.fire_due();
      return park_result::woke;
    }
    // Other workers still run tasks: virtual time must not move yet.
    io_->poll(std::chrono::milliseconds(1));
    time_.fire_due();
    return park_result::woke;
  }

  time_driver time_;
  std::unique_ptr<io_driver> io_;
};

}  // namespace brigade::detail
