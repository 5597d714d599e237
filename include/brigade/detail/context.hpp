#pragma once
// Per-thread runtime context: which task is running, on which scheduler, and
// how much of its cooperative budget is left.
//
// Set by a worker around each task run; read by awaiters (to register the
// task they suspend), by spawn (to find the runtime), and by the cooperative
// budget. All fields are thread-local and touched by their own thread only.

#include <cstdint>

namespace brigade::detail {

class scheduler;
struct task_header;

struct thread_context {
  scheduler* sched = nullptr;   // the runtime this thread drives, if any
  task_header* task = nullptr;  // the spawned task being run right now
  std::uint32_t budget = 0;     // operations left in this turn
  std::uint64_t forced_yields = 0;
  /// The wait word (task_header::wait_) of the last task run_task left
  /// suspended, read before another worker could resume it (tracing).
  std::uint64_t last_wait = 0;
  /// State bits (FRAME_RELEASED, RESULT_STASHED) the final awaiter of the
  /// task being run asks its completion to set: they ride on the completion
  /// RMW instead of costing one of their own.
  std::uint64_t completion_bits = 0;
};

extern thread_local constinit thread_context tl_context;

/// Operations a task may complete without suspending before the next runtime
/// awaitable yields (Tokio uses 128 too).
inline constexpr std::uint32_t initial_budget = 128;

/// Takes one unit of budget. Returns false when the turn's budget is spent:
/// the caller must yield before completing. Outside a task: always true.
inline bool consume_budget() noexcept {
  thread_context& c = tl_context;
  if (c.task == nullptr) return true;
  if (c.budget == 0) {
    ++c.forced_yields;
    return false;
  }
  --c.budget;
  return true;
}

/// Throws std::logic_error: `what` needs a runtime on this thread.
[[noreturn]] void throw_outside_runtime(const char* what);

inline task_header* current_task() noexcept { return tl_context.task; }
inline scheduler* current_scheduler() noexcept { return tl_context.sched; }

/// The running task will wait for `target` (a join): lets this thread's
/// scheduler run `target` now or next if it can take it back from its own
/// queue (scheduler::help_join); true when it ran. Does nothing (false)
/// outside a runtime.
bool help_join(task_header* target) noexcept;

}  // namespace brigade::detail
