#pragma once
// A timer registration: intrusive, lives inside the awaiting frame (the
// sleep awaiter), so a sleep allocates nothing.
//
// Owned by the awaiter; linked into a wheel slot (or the fired list) while
// registered. Every field but state_ is touched only under the time
// driver's lock once registered; state_ is also read by the awaiter's poll
// without the lock (acquire: pairs with the release in fire).

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <chrono>
#include <cstdint>

namespace brigade::detail {

class time_driver;

struct timer_entry {
  enum class state : std::uint8_t { idle, registered, fired };

  timer_entry* next_ = nullptr;
  timer_entry* prev_ = nullptr;
  std::uint64_t deadline_tick_ = 0;  // ms since the driver's origin, rounded up
  task_header* task_ = nullptr;      // holds a waker reference while registered
  atomic<state> state_{state::idle};
  std::uint8_t level_ = 0;  // wheel level while in a slot; levels = expired list
  std::uint8_t slot_ = 0;   // slot within that level
};

/// The time driver of the runtime running the current task.
/// Throws std::logic_error outside a runtime.
time_driver& current_time_driver();

/// The runtime's notion of now (virtual under clock_kind::paused).
std::chrono::steady_clock::time_point driver_now(time_driver& d) noexcept;

/// Registers `e` to wake `task` at `deadline` (taking a waker reference on
/// the task). Returns false when the deadline already passed (nothing
/// registered).
bool timer_register(time_driver& d, timer_entry& e, task_header* task,
                    std::chrono::steady_clock::time_point deadline);

/// Withdraws `e`. Returns true when it was still registered (the waker
/// reference is released); false when it fired (the wake is delivered or on
/// its way) or was never registered.
bool timer_cancel(time_driver& d, timer_entry& e) noexcept;

}  // namespace brigade::detail
