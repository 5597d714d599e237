// The scheduler's trace hooks: thin wrappers that never throw, so a full
// or failing trace never disturbs the runtime.

#include "trace/tracer.hpp"

#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/wait_info.hpp>

#include <string>

namespace brigade::detail {

void scheduler::trace_instant(trace_event::kind what, task_header* task) noexcept {
  try {
    tracer_->instant(what, task, tl_context.task);
  } catch (...) {
  }
}

void scheduler::trace_span_of(task_header* task, std::int64_t start_ns,
                              std::uint64_t wait_word) noexcept {
  try {
    const std::int64_t end_ns = tracer_->now_ns();
    tracer_->span(trace_event::kind::run, task, start_ns, end_ns,
                  wait_word != 0 ? describe_wait(wait_word, clock_now()) : std::string{});
  } catch (...) {
  }
}

void scheduler::trace_park(std::int64_t start_ns) noexcept {
  try {
    tracer_->span(trace_event::kind::park, std::string_view{"park"}, start_ns, tracer_->now_ns());
    tracer_->flush_thread();  // parking is idle time: flush then
  } catch (...) {
  }
}

void scheduler::trace_lane(const char* prefix, std::size_t index) noexcept {
  try {
    std::string name = prefix;
    if (index != static_cast<std::size_t>(-1)) name += " " + std::to_string(index);
    tracer_->register_lane(std::move(name));
  } catch (...) {
  }
}

std::int64_t scheduler::get_tracer_now() const noexcept { return tracer_->now_ns(); }

void scheduler::trace_flush() noexcept {
  try {
    tracer_->flush_thread();
  } catch (...) {
  }
}

}  // namespace brigade::detail
