#pragma once

#include <stdexcept>

namespace brigade {

/// Thrown at a cancellable suspension point of a task that was aborted
/// (join_handle::abort, a when_any loser, runtime shutdown), and by awaiting
/// the join_handle of such a task. Let it propagate: the task then ends as
/// cancelled. Catching it is allowed (for cleanup); the task stays cancelled,
/// so its next cancellable await throws again.
class cancelled : public std::runtime_error {
 public:
  cancelled() : std::runtime_error("brigade: task cancelled") {}
};

}  // namespace brigade
