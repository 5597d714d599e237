#pragma once
// Helpers for the sync and channel tests.

#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include <utility>

namespace brigade::testing {

/// Yields until `pred()` holds. No wall clock: the loop only gives the other
/// tasks turns; a condition that never comes hangs until the ctest timeout.
template <class Pred>
task<> until(Pred pred) {
  while (!pred()) co_await yield_now();
}

/// Yields `n` times: lets the other tasks run a few turns.
inline task<> turns(int n) {
  for (int i = 0; i < n; ++i) co_await yield_now();
}

}  // namespace brigade::testing
