#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/runtime.hpp>

#include <stdexcept>
#include <string>

namespace brigade::detail {

thread_local constinit thread_context tl_context{};

void throw_outside_runtime(const char* what) {
  throw std::logic_error(std::string(what) +
                         " called outside a brigade runtime (use runtime::spawn, "
                         "runtime_handle::spawn or block_on)");
}

}  // namespace brigade::detail

namespace brigade {

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
