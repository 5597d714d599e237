#include "runtime/scheduler/current_thread.hpp"
#include "runtime/scheduler/multi_thread/multi_thread.hpp"

#include <brigade/runtime.hpp>

#include <stdexcept>

namespace brigade {

namespace {
std::shared_ptr<detail::scheduler> make_scheduler(runtime_options options) {
  switch (options.flavor) {
    case flavor::current_thread:
      return std::make_shared<detail::current_thread_scheduler>(std::move(options));
    case flavor::multi_thread:
      return std::make_shared<detail::multi_thread_scheduler>(std::move(options));
  }
  throw std::invalid_argument("brigade::runtime: unknown flavor");
}
}  // namespace

runtime::runtime() : runtime(runtime_options{}) {}

runtime::runtime(runtime_options options) : sched_(make_scheduler(std::move(options))) {}

runtime::~runtime() { sched_->shutdown(); }

}  // namespace brigade
