// Link-time definitions for symbols the model build references but the
// modelled protocols never reach. The model executable does not link
// libbrigade (see CMakeLists.txt), and the real definitions pull in the
// schedulers. Each one aborts loudly: if a model test ever reaches it, the
// test is exercising a path the model does not cover and must be extended.

#include <brigade/detail/scheduler.hpp>

#include <cstdio>
#include <cstdlib>

namespace brigade::detail {

// Reached only when a task fails with an exception nobody observes; the
// model tasks complete normally or as cancelled (which is never reported).
void report_unhandled_task_failure(task_header*) noexcept {
  std::fprintf(stderr,
               "model: report_unhandled_task_failure reached; not modelled "
               "(tests/model/model_stubs.cpp)\n");
  std::abort();
}

}  // namespace brigade::detail
