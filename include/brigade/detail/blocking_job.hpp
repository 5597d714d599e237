#pragma once
// A unit of work for the blocking pool, and the one-waiter completion
// protocol that hands its result back to a task.
//
// Ownership: two references, the pool's (dropped after run) and the
// handle's (dropped when the handle goes). Either may be last.
//
// state_: pending -> waiting (a task registered, holding a waker reference)
//         pending|waiting -> done (the pool thread finished; it wakes the
//         waiter it found). A cancelled waiter moves waiting -> pending and
//         drops its waker reference itself; exactly one side wakes or
//         withdraws, decided by the atomic exchange/CAS on state_.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <cstdint>
#include <exception>

namespace brigade::detail {

class scheduler;

struct blocking_job {
  enum class state : std::uint8_t { pending, waiting, done };

  void (*run)(blocking_job*) noexcept = nullptr;      // computes the result
  void (*destroy)(blocking_job*) noexcept = nullptr;  // deletes the derived object
  atomic<int> refs{2};
  atomic<state> state_{state::pending};
  task_header* waiter_ = nullptr;
  std::exception_ptr exception_;
  blocking_job* next_ = nullptr;  // pool queue link

  void release() noexcept {
    // acq_rel: the last owner sees the other's writes before destroying.
    if (refs.fetch_sub(1, memory_order_acq_rel) == 1) destroy(this);
  }

  /// Pool side, after run(): publishes the result and wakes the waiter.
  void complete() noexcept {
    // acq_rel: release publishes the result; acquire makes waiter_ visible.
    if (state_.exchange(state::done, memory_order_acq_rel) == state::waiting) {
      waiter_->wake_by_val();
    }
  }
};

/// Queues `job` on the blocking pool of `sched` (starting a thread when none
/// is idle). Throws std::system_error when no thread can be started and none
/// exists, brigade::cancelled when the runtime shut down.
void submit_blocking(scheduler& sched, blocking_job* job);

}  // namespace brigade::detail
