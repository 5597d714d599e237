// Running one task: the part of the task state machine shared by every
// scheduler flavor (Tokio keeps the same in runtime/task/harness.rs).

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/wait_info.hpp>

#include <cstring>
#include <utility>

namespace brigade::detail {

void prepare_spawn(task_header* task, scheduler& sched, std::string_view name,
                   const source_location& location, join_kind join) noexcept {
  task->sched_ = &sched;
  task->location_ = location;
  if (!name.empty()) {
    // A name is optional; without memory we keep the task and drop the name.
    if (char* copy = new (std::nothrow) char[name.size() + 1]) {
      std::memcpy(copy, name.data(), name.size());
      copy[name.size()] = '\0';
      task->name_ = copy;
    }
  }
  std::uint64_t state = task_header::spawned | task_header::notified | task_header::ref_one;
  if (join == join_kind::joined) state += task_header::join_interest + task_header::ref_one;
  // relaxed: the header is published to other threads by the queue push.
  task->state_.store(state, memory_order_relaxed);
}

void complete_task(task_header* task, std::uint64_t extra_bits) noexcept {
  const std::uint64_t prev = task->transition_to_complete(extra_bits);
  if ((prev & task_header::join_waker) != 0) {
    const std::uintptr_t joiner = task->joiner_;
    if ((joiner & 1u) != 0) {
      auto* listener = reinterpret_cast<completion_listener*>(joiner & ~std::uintptr_t{1});
      listener->on_complete(listener, task);
    } else {
      reinterpret_cast<task_header*>(joiner)->wake_by_val();
    }
  } else if ((prev & task_header::join_interest) == 0) {
    // Nobody will take the result (detached, or the handle went first).
    task->report_unobserved_exception();
    task->discard_result(prev | extra_bits | task_header::complete);
  }
}

void destroy_task(task_header* task) noexcept {
  // Mark first: a concurrent join_handle::take_result sees FRAME_GONE and
  // reports cancelled instead of reading the frame we are destroying.
  std::uint64_t cur = task->state_.load(memory_order_relaxed);
  while (!task->state_.compare_exchange_weak(cur,
                                             cur | task_header::cancelled | task_header::frame_gone,
                                             memory_order_acq_rel, memory_order_relaxed)) {
  }
  task->frame_handle().destroy();
  task->resume_ = 0;
  complete_task(task);
}

run_result run_task(task_header* task) noexcept {
  const std::uint64_t prev = task->transition_to_running();
  thread_context& ctx = tl_context;
  ctx.task = task;
  ctx.budget = initial_budget;
  const bool cancel = (prev & task_header::cancelled) != 0;
  if ((prev & task_header::started) == 0) {
    if (cancel) {
      // Aborted before its first run: the body never starts, and its frame
      // (holding only the parameters) goes now.
      task->exception_ = std::make_exception_ptr(cancelled{});
      ctx.task = nullptr;
      task->frame_handle().destroy();
      complete_task(task, task_header::frame_released);
      return run_result::completed;
    }
    task->frame_handle().resume();
  } else if (const std::uintptr_t r = task->resume_; (r & 1u) != 0) {
    auto* node = reinterpret_cast<wait_node*>(r & ~std::uintptr_t{1});
    if (node->poll(node, cancel)) {
      task->resume_ = 0;
      clear_wait(task);
      node->handle.resume();
    }
  } else if (r != 0) {
    task->resume_ = 0;
    std::coroutine_handle<>::from_address(reinterpret_cast<void*>(r)).resume();
  }
  ctx.task = nullptr;
  if (task->frame_handle().done()) {
    // The final awaiter moved the result out (FRAME_RELEASED in the bits it
    // left us): destroy the frame now, so the task's parameters do not
    // outlive it while a join_handle waits to take the result. Before
    // completion is published: the joiner may free the block once it sees
    // COMPLETE. The bits go into the completion RMW.
    const std::uint64_t bits = std::exchange(ctx.completion_bits, 0);
    if ((bits & task_header::frame_released) != 0) task->frame_handle().destroy();
    complete_task(task, bits);
    return run_result::completed;
  }
  // relaxed: our own write (the suspending awaiter ran on this thread).
  ctx.last_wait = task->wait_.load(memory_order_relaxed);
  return task->transition_to_idle() == idle_outcome::requeue ? run_result::requeue
                                                             : run_result::suspended;
}

}  // namespace brigade::detail
