// Reporting failures nobody observes, and the registry of live schedulers
// that makes such a report safe after its runtime is gone.

#include "runtime/blocking_pool.hpp"
#include "runtime/driver.hpp"
#include "trace/tracer.hpp"

#include <brigade/detail/scheduler.hpp>
#include <brigade/time/clock.hpp>

#include <cstdio>
#include <exception>
#include <mutex>
#include <unordered_set>

namespace brigade::detail {

namespace {

// Failures are rare; one global lock is cheaper than keeping every task's
// scheduler alive with a reference count on the hot path.
std::mutex& live_schedulers_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_set<const scheduler*>& live_schedulers() {
  static std::unordered_set<const scheduler*> set;
  return set;
}

std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "(an exception not derived from std::exception)";
  }
}

void print_failure(std::exception_ptr e, const task_info& info) {
  const std::string what = describe(std::move(e));
  std::fprintf(stderr, "brigade: task '%.*s' spawned at %s:%u failed: %s\n",
               static_cast<int>(info.name.size()), info.name.data(), info.location.file_name(),
               static_cast<unsigned>(info.location.line()), what.c_str());
}

}  // namespace

scheduler::scheduler(runtime_options options)
    : options_(std::move(options)),
      tracer_(options_.trace_path.empty() && !options_.trace_in_memory
                  ? nullptr
                  : std::make_unique<tracer>(options_.trace_path)),
      driver_(std::make_unique<driver>(options_)),
      blocking_(std::make_unique<blocking_pool>(tracer_.get())) {
  std::lock_guard lock(live_schedulers_mutex());
  live_schedulers().insert(this);
}

trace_recording scheduler::trace() const {
  if (!tracer_) return {};
  return tracer_->snapshot();
}

void scheduler::finish_trace() noexcept {
  if (!tracer_) return;
  try {
    tracer_->write_file();
  } catch (...) {
    std::fputs("brigade: writing the trace failed\n", stderr);
  }
}

void scheduler::add_blocking_metrics(runtime_metrics& m) const noexcept {
  m.blocking_threads = blocking_->threads();
  m.blocking_idle = blocking_->idle_threads();
}

void scheduler::report_stall() noexcept {
  if (stalled_.exchange(true, memory_order_acq_rel)) return;
  try {
    const std::string dump = dump_tasks();
    std::fprintf(stderr,
                 "brigade: deadlock: every task waits and no timer or I/O is pending "
                 "(paused clock)\n%s",
                 dump.c_str());
  } catch (...) {
    std::fputs("brigade: deadlock detected (paused clock)\n", stderr);
  }
}

void scheduler::throw_deadlock() const {
  throw deadlock_error(
      "brigade: deadlock: every task waits and no timer or I/O is pending (paused clock); "
      "the task dump is on stderr");
}

std::chrono::steady_clock::time_point scheduler::clock_now() const noexcept {
  return driver_->time().now();
}

scheduler::~scheduler() {
  std::lock_guard lock(live_schedulers_mutex());
  live_schedulers().erase(this);
}

void report_unhandled_task_failure(task_header* task) noexcept {
  const task_info info{task->name_ != nullptr ? std::string_view{task->name_} : std::string_view{},
                       task->location_};
  try {
    std::function<void(std::exception_ptr, const task_info&)> hook;
    {
      std::lock_guard lock(live_schedulers_mutex());
      if (live_schedulers().contains(task->sched_))
        hook = task->sched_->options().unhandled_exception;
    }
    if (hook) {
      hook(task->exception_, info);
    } else {
      print_failure(task->exception_, info);
    }
  } catch (...) {
    // A throwing hook must not take the worker down.
    std::fputs("brigade: the unhandled_exception hook threw; failure dropped\n", stderr);
  }
}

}  // namespace brigade::detail
