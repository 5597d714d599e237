#pragma once
// brigade::runtime: owns a scheduler (current_thread or multi_thread), and
// later its I/O driver, timer wheel and blocking pool.

#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/metrics.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include <brigade/source_location.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace brigade {

/// A cheap, copyable reference to a runtime, usable from any thread.
///
/// Stays valid after the runtime shut down: spawning then yields a handle
/// that reports brigade::cancelled.
/// Thread safety: every member may be called from any thread.
class runtime_handle {
 public:
  runtime_handle() noexcept = default;

  /// Spawns `t` on the runtime (see brigade::spawn). Any thread.
  /// On current_thread the task runs during the next block_on.
  /// Throws: std::logic_error on an empty handle.
  template <class T>
  join_handle<T> spawn(task<T> t, std::string name = {},
                       source_location location = source_location::current()) const {
    return detail::spawn_on(checked(), std::move(t), name, location);
  }

  runtime_metrics metrics() const { return checked().metrics(); }
  std::string dump_tasks() const { return checked().dump_tasks(); }

  explicit operator bool() const noexcept { return static_cast<bool>(sched_); }
  friend bool operator==(const runtime_handle& a, const runtime_handle& b) noexcept {
    return a.sched_ == b.sched_;
  }

  /// For brigade internals.
  explicit runtime_handle(std::shared_ptr<detail::scheduler> sched) noexcept
      : sched_(std::move(sched)) {}

 private:
  detail::scheduler& checked() const;
  std::shared_ptr<detail::scheduler> sched_;
};

/// A runtime: a scheduler plus the drivers its tasks wait on.
///
/// Thread safety: block_on may be called from any thread that does not
/// already drive a runtime; spawn, metrics, dump_tasks and handle from any
/// thread. Destroying the runtime calls shutdown().
/// Example:
///   brigade::runtime rt{brigade::runtime_options{.flavor = brigade::flavor::current_thread}};
///   int v = rt.block_on(compute());
class runtime {
 public:
  /// A multi_thread runtime with one worker per hardware thread.
  runtime();
  /// Throws: std::invalid_argument for options it cannot honour;
  /// std::system_error when a thread or kernel object cannot be created.
  explicit runtime(runtime_options options);
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  ~runtime();

  /// Runs `t` to completion on this runtime and returns its result, driving
  /// the scheduler on the calling thread (current_thread) or waiting for the
  /// workers (multi_thread). Other spawned tasks keep running.
  /// Throws: the task's exception; std::logic_error when called from a
  /// thread that already drives a runtime (block_on inside a task would
  /// deadlock: co_await instead); brigade::cancelled after shutdown().
  template <class T>
  T block_on(task<T> t, source_location location = source_location::current()) {
    // Checked before spawning: a refused block_on must not leave `t` running.
    if (detail::current_scheduler() != nullptr) {
      throw std::logic_error(
          "brigade: block_on called from a thread that already drives a runtime "
          "(inside a task, co_await the task instead)");
    }
    join_handle<T> h = detail::spawn_on(*sched_, std::move(t), "block_on", location);
    sched_->block_on(h.header());
    return h.take_result();
  }

  /// Spawns `t` on this runtime from any thread (see brigade::spawn).
  template <class T>
  join_handle<T> spawn(task<T> t, std::string name = {},
                       source_location location = source_location::current()) {
    return detail::spawn_on(*sched_, std::move(t), name, location);
  }

  runtime_handle handle() const noexcept { return runtime_handle{sched_}; }
  runtime_metrics metrics() const noexcept { return sched_->metrics(); }
  /// One line per live task: its address (its id while it lives), name,
  /// spawn location, state (running / scheduled / not started / waiting)
  /// and, for a waiting task, what it waits on, as recorded by the awaiter
  /// when it suspended: "mutex 0x..", "sleep until +12.000 ms", "read fd 7",
  /// "join task 0x..", "mpsc recv 0x..". Example line:
  ///   task 0x55e4 'fetch' spawned at main.cpp:12 (run()): waiting on read fd 7
  /// Any thread; never waits for a busy worker (it reads the registry under
  /// the shard locks and one atomic word per task). Throws std::bad_alloc.
  std::string dump_tasks() const { return sched_->dump_tasks(); }
  const runtime_options& options() const noexcept { return sched_->options(); }
  /// The trace recorded so far (runtime_options::trace_path or
  /// trace_in_memory; empty otherwise). Any thread. Workers hand over their
  /// staged events when they park and when they stop: for a complete
  /// recording, call it after shutdown().
  trace_recording trace() const { return sched_->trace(); }

  /// Cancels every remaining task, destroys their frames (running their
  /// destructors), joins every thread. Idempotent; the destructor calls it.
  void shutdown() noexcept { sched_->shutdown(); }

 private:
  std::shared_ptr<detail::scheduler> sched_;
};

/// The runtime driving the calling thread.
/// Throws: std::logic_error when the thread drives no runtime.
runtime_handle current_runtime();

/// Runs `t` on a fresh default runtime (multi_thread, one worker per hardware
/// thread), shuts it down and returns the result. For `main` and tests.
/// Throws: as runtime::block_on.
template <class T>
T block_on(task<T> t) {
  runtime rt;
  return rt.block_on(std::move(t));
}

}  // namespace brigade
