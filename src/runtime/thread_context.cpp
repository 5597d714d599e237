// The per-thread context (detail/context.hpp). Kept apart from context.cpp,
// which reaches the runtime, so that the model-check build (tests/model) can
// compile the waiter machinery without the schedulers.

#include <brigade/detail/context.hpp>

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
