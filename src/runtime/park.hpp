#pragma once
// A one-thread parker on a futex word: park() sleeps until unpark() (from
// any thread) or a pending token; no wake-up is ever lost.
//
// Protocol (the classic three-state token, as in Rust's std futex parker):
//   state: empty (0), parked (1), notified (2).
//   park:   1. swap notified -> empty: a token was pending, return at once.
//           2. CAS empty -> parked, then futex_wait while state == parked;
//              the kernel re-checks the word, so an unpark between the CAS
//              and the sleep is not lost.
//           3. On wake, swap back to empty (consume the token).
//   unpark: swap -> notified; only if the previous state was parked, issue
//           futex_wake. An unpark with nobody parked costs one atomic swap
//           and no syscall (PERFORMANCE.md: a syscall costs ~1 us here).
//   park_on_driver: as park, but the state is parked_driver and the thread
//           sleeps in the runtime's driver (I/O + timers); unpark then wakes
//           the driver instead of the futex. The driver's own wake-up is
//           sticky, so an unpark between the CAS and the sleep is not lost.

#include "runtime/driver.hpp"

#include <brigade/detail/atomic.hpp>

#include <chrono>
#include <cstdint>

namespace brigade::detail {

class parker {
 public:
  /// Sleeps until unpark() or a pending token. Owner thread only.
  void park() noexcept;
  /// As park(), but gives up after `timeout`.
  void park_for(std::chrono::nanoseconds timeout) noexcept;
  /// As park(), sleeping in `d` (which the caller holds) so that timers fire
  /// and I/O is dispatched meanwhile.
  driver::park_result park_on_driver(driver& d, driver::runtime_state state) noexcept;
  /// Wakes the owner, or leaves a token for its next park(). Any thread.
  void unpark() noexcept;

 private:
  static constexpr std::uint32_t empty = 0;
  static constexpr std::uint32_t parked = 1;
  static constexpr std::uint32_t notified = 2;
  static constexpr std::uint32_t parked_driver = 3;

  void park_impl(const std::chrono::nanoseconds* timeout) noexcept;

  atomic<std::uint32_t> state_{empty};
  // Written before state_ becomes parked_driver; read by unpark() after it
  // sees that state. Atomic because an unparker may read it while the owner
  // writes it again for its next park (same value, but a race for TSan).
  atomic<driver*> driver_{nullptr};
};

}  // namespace brigade::detail
