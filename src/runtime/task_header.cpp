// State transitions and reference counting of the task header.
// The protocol is described at the top of detail/task_header.hpp.

#include <brigade/cancelled.hpp>
#include <brigade/detail/frame_allocator.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/task_header.hpp>

namespace brigade::detail {

namespace {
using state_t = std::uint64_t;
constexpr state_t th_running = task_header::running;
constexpr state_t th_notified = task_header::notified;
constexpr state_t th_complete = task_header::complete;
constexpr state_t th_cancelled = task_header::cancelled;
}  // namespace

notify_outcome task_header::transition_to_notified() noexcept {
  // acq_rel: release publishes what the waker wrote before waking (the data
  // the task will read) to the worker whose transition_to_running acquires;
  // acquire orders this after the task's earlier state changes.
  const state_t prev = state_.fetch_or(th_notified, memory_order_acq_rel);
  if ((prev & (th_running | th_notified | th_complete)) != 0) return notify_outcome::do_nothing;
  return notify_outcome::submit;
}

notify_outcome task_header::transition_to_notified_and_cancel() noexcept {
  state_t cur = state_.load(memory_order_relaxed);
  for (;;) {
    if ((cur & (th_complete | th_cancelled)) != 0) return notify_outcome::do_nothing;
    state_t next = cur | th_cancelled;
    notify_outcome outcome = notify_outcome::do_nothing;
    if ((cur & th_running) != 0) {
      next |= th_notified;  // polled again when this run ends
    } else if ((cur & th_notified) == 0) {
      next |= th_notified;
      outcome = notify_outcome::submit;
    }
    // acq_rel: pairs with transition_to_running/idle on the worker.
    if (state_.compare_exchange_weak(cur, next, memory_order_acq_rel, memory_order_relaxed)) {
      return outcome;
    }
  }
}

std::uint64_t task_header::transition_to_running() noexcept {
  state_t cur = state_.load(memory_order_relaxed);
  for (;;) {
    const state_t next = (cur & ~th_notified) | th_running | started;
    // acquire: pairs with the release in transition_to_notified (the waker's
    // writes) and transition_to_idle (the previous run's writes).
    if (state_.compare_exchange_weak(cur, next, memory_order_acquire, memory_order_relaxed)) {
      return cur;
    }
  }
}

idle_outcome task_header::transition_to_idle() noexcept {
  state_t cur = state_.load(memory_order_relaxed);
  for (;;) {
    const state_t next = cur & ~th_running;
    // release: publishes this run's writes (resume_, the awaiter) to the
    // next worker, which acquires in transition_to_running.
    if (state_.compare_exchange_weak(cur, next, memory_order_acq_rel, memory_order_relaxed)) {
      return (cur & th_notified) != 0 ? idle_outcome::requeue : idle_outcome::idle;
    }
  }
}

std::uint64_t task_header::transition_to_complete(std::uint64_t extra) noexcept {
  state_t cur = state_.load(memory_order_relaxed);
  for (;;) {
    const state_t next = (cur & ~(th_running | th_notified)) | th_complete | extra;
    // acq_rel: release publishes the result to whoever sees COMPLETE
    // (is_complete acquires); acquire makes joiner_ (written before
    // JOIN_WAKER was set with release) visible here.
    if (state_.compare_exchange_weak(cur, next, memory_order_acq_rel, memory_order_relaxed)) {
      return cur;
    }
  }
}

void task_header::release() noexcept {
  // acq_rel: the last owner must see every other owner's writes before it
  // destroys the frame.
  const state_t prev = state_.fetch_sub(ref_one, memory_order_acq_rel);
  if ((prev >> ref_shift) != 1) return;
  if ((prev & (frame_gone | frame_released)) == 0) frame_handle().destroy();
  if ((prev & result_stashed) != 0) stash_destructor()(this);  // never taken
  free_task_block(this);
}

void task_header::wake_by_ref() noexcept {
  if (transition_to_notified() == notify_outcome::submit) sched_->schedule(this);
}

void task_header::wake_by_val() noexcept {
  wake_by_ref();
  release();
}

void task_header::abort() noexcept {
  if (transition_to_notified_and_cancel() == notify_outcome::submit) sched_->schedule(this);
}

bool task_header::set_join_waker(std::uintptr_t joiner) noexcept {
  joiner_ = joiner;
  // acq_rel: release publishes joiner_ to the completing worker; acquire
  // makes the result visible if the task already completed.
  const state_t prev = state_.fetch_or(join_waker, memory_order_acq_rel);
  if ((prev & th_complete) != 0) {
    state_.fetch_and(~join_waker, memory_order_relaxed);
    return false;
  }
  return true;
}

bool task_header::unset_join_waker() noexcept {
  state_t cur = state_.load(memory_order_acquire);
  for (;;) {
    if ((cur & th_complete) != 0) return false;
    if (state_.compare_exchange_weak(cur, cur & ~join_waker, memory_order_acq_rel,
                                     memory_order_acquire)) {
      return true;
    }
  }
}

void task_header::drop_join_interest(bool observed) noexcept {
  if (observed) {
    // The result was taken: complete, the stash emptied, and nothing left
    // to discard unless the frame was kept for the value. Then one RMW
    // clears our interest (the bit is set: subtracting it clears it) and
    // drops our reference. relaxed: these bits were final when the take
    // saw COMPLETE (acquire) on this thread.
    const state_t s = state_.load(memory_order_relaxed);
    if ((s & th_complete) != 0 && (s & (frame_gone | frame_released)) != 0 &&
        (s & result_stashed) == 0) {
      // acq_rel: as in release().
      const state_t prev = state_.fetch_sub(ref_one + join_interest, memory_order_acq_rel);
      if ((prev >> ref_shift) == 1) free_task_block(this);  // no frame, no stash left
      return;
    }
  }
  // acq_rel: if the task completed, its result (exception_) must be visible.
  const state_t prev = state_.fetch_and(~join_interest, memory_order_acq_rel);
  if ((prev & th_complete) != 0) {
    if (!observed) report_unobserved_exception();
    discard_result(prev);
  }
  release();
}

void task_header::discard_result(state_t state) noexcept {
  // Only this thread touches the result from here: the other side of the
  // join_interest / COMPLETE race saw it first and left it. The caller
  // holds a reference, so the block stays; the relaxed RMWs are ordered
  // before its release() (acq_rel) for whoever frees the block.
  exception_ = nullptr;
  if ((state & result_stashed) != 0) {
    state_.fetch_and(~result_stashed, memory_order_relaxed);
    stash_destructor()(this);
  } else if ((state & (frame_gone | frame_released)) == 0) {
    // A value whose move may throw stayed in the frame (task.hpp).
    state_.fetch_or(frame_released, memory_order_relaxed);
    frame_handle().destroy();
  }
}

void task_header::report_unobserved_exception() noexcept {
  if (!exception_ || (state_.load(memory_order_relaxed) & frame_gone) != 0) return;
  try {
    std::rethrow_exception(exception_);
  } catch (const brigade::cancelled&) {
    return;  // cancellation is an outcome someone asked for, not a failure
  } catch (...) {
  }
  report_unhandled_task_failure(this);
}

void free_task_block(task_header* header) noexcept {
  const std::size_t bytes = header->frame_size_ + task_header::prefix_size;
  header->~task_header();
  free_block(header, bytes);
}

}  // namespace brigade::detail
