#pragma once
// Start latency, for `brigade spawn-cost`: the time from the spawn call (the
// std::thread constructor, or the call that creates the task and spawns it)
// to the first instruction of the thread's function or the task's body.
// Starts are one at a time (start, wait for it to finish, start the next),
// so each sample is one start alone, on a quiet runtime or process.

#include <brigade/runtime_options.hpp>

#include <cstddef>

namespace brigade::app {

struct latency_figures {
  double p50_ns = 0;
  double p99_ns = 0;
  std::size_t samples = 0;
};

/// `n` std::threads, created and joined one after another.
/// Throws: std::system_error when a thread cannot start.
latency_figures thread_start_latency(std::size_t n);

/// `n` tasks spawned one after another from a task on a runtime of flavor
/// `f` (`workers` workers for multi_thread), each awaited before the next.
/// On current_thread the body runs when the spawner awaits it; on
/// multi_thread whichever worker gets it first (the spawner's, or a thief).
/// Throws: what the runtime's constructor throws.
latency_figures task_start_latency(flavor f, std::size_t workers, std::size_t n);

}  // namespace brigade::app
