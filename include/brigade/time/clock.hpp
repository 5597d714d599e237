#pragma once
// The runtime's clock: real (steady) or paused (virtual, for tests).

#include <brigade/task.hpp>

#include <chrono>
#include <stdexcept>

namespace brigade {

/// Points in time on the runtime's clock.
using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::steady_clock::duration;

/// Now, on the clock of the runtime driving the calling thread: virtual time
/// under clock_kind::paused; std::chrono::steady_clock::now() elsewhere
/// (including outside any runtime).
/// Thread safety: any thread.
time_point now() noexcept;

/// Paused clock only: moves virtual time forward by `d`, fires the timers
/// that became due and yields so that their tasks run.
///
/// Resumes on: the same runtime, after the woken tasks had a turn.
/// Cancellation: cancellable (at the yield); time has moved either way.
/// Throws: std::logic_error outside a task or on a runtime whose clock is
/// not paused.
/// Example: co_await brigade::advance(5min); // eggs are done, instantly
task<> advance(duration d);

/// Thrown by block_on when, under the paused clock, every task waits and no
/// timer, I/O or other thread can wake any of them (a deadlock). The list of
/// tasks and where they were spawned is printed to stderr first.
class deadlock_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace brigade
