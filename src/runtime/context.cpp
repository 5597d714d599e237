#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/runtime.hpp>

#include <stdexcept>

// tl_context and throw_outside_runtime live in thread_context.cpp.

namespace brigade {

bool detail::help_join(task_header* target) noexcept {
  scheduler* sched = current_scheduler();
  return sched != nullptr && sched->help_join(target);
}

runtime_handle current_runtime() {
  detail::scheduler* sched = detail::current_scheduler();
  if (sched == nullptr) detail::throw_outside_runtime("brigade::current_runtime");
  return runtime_handle{sched->shared_from_this()};
}

detail::scheduler& runtime_handle::checked() const {
  if (!sched_) throw std::logic_error("brigade::runtime_handle is empty");
  return *sched_;
}

}  // namespace brigade
