#include "trace/tracer.hpp"

#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/trace.hpp>

namespace brigade {

trace_span::trace_span(std::string_view label) {
  detail::scheduler* s = detail::current_scheduler();
  if (s == nullptr || s->get_tracer() == nullptr) return;
  detail::tracer* t = s->get_tracer();
  tracer_ = t;
  start_ns_ = t->now_ns();
  label_ = label;
}

trace_span::~trace_span() {
  if (tracer_ == nullptr) return;
  auto* t = static_cast<detail::tracer*>(tracer_);
  try {
    t->span(trace_event::kind::user, label_, start_ns_, t->now_ns());
  } catch (...) {  // out of memory: the span is lost, the program goes on
  }
}

}  // namespace brigade
