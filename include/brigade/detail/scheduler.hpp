#pragma once
// The interface every scheduler flavor implements (current_thread,
// multi_thread). Public templates (spawn, join_handle, when_all) reach the
// scheduler only through this interface; the implementations live in
// src/runtime/scheduler/ and are never included from include/.

#include <brigade/detail/task_header.hpp>
#include <brigade/metrics.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/trace.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace brigade::detail {

class driver;         // src/runtime/driver.hpp: I/O + timers, opaque here
class blocking_pool;  // src/runtime/blocking_pool.hpp
class tracer;         // src/trace/tracer.hpp

class scheduler : public std::enable_shared_from_this<scheduler> {
 public:
  explicit scheduler(runtime_options options);
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;
  virtual ~scheduler();

  /// Queues a task whose state just became NOTIFIED. Any thread.
  virtual void schedule(task_header* task) noexcept = 0;
  /// Takes a freshly prepared spawned task (see prepare_spawn) and queues it.
  /// On a scheduler that has shut down the task completes as cancelled.
  virtual void spawn(task_header* task) noexcept = 0;
  /// Drives the scheduler on the calling thread until `root` completes.
  /// Throws std::logic_error when called from a thread that already drives
  /// a runtime.
  virtual void block_on(task_header* root) = 0;
  /// The task running on this thread is about to wait for `target` (a
  /// join). If `target` is queued where this thread can take it back
  /// cheaply, the scheduler runs it now, nested in the joiner's turn, and
  /// returns true (the joiner then finds it complete, or waits as usual if
  /// it suspended), or makes it the next task to run and returns false
  /// (depth-first fork-join, as in TBB: the child runs on a warm cache and
  /// the joiner resumes at once, instead of both waiting behind the whole
  /// queue). The default does nothing.
  virtual bool help_join(task_header* target) noexcept {
    (void)target;
    return false;
  }
  /// Cancels and destroys every task, joins every thread. Idempotent.
  virtual void shutdown() noexcept = 0;
  virtual runtime_metrics metrics() const noexcept = 0;
  virtual std::string dump_tasks() const = 0;

  const runtime_options& options() const noexcept { return options_; }
  /// The runtime's I/O and time drivers.
  driver& get_driver() noexcept { return *driver_; }
  /// The runtime's blocking pool (spawn_blocking).
  blocking_pool& get_blocking_pool() noexcept { return *blocking_; }
  /// Now on the runtime's clock (virtual under clock_kind::paused). Any thread.
  std::chrono::steady_clock::time_point clock_now() const noexcept;
  /// The trace recorder; null when tracing is off.
  tracer* get_tracer() const noexcept { return tracer_.get(); }
  /// The events recorded so far (empty when tracing is off).
  trace_recording trace() const;

  // Trace recording helpers (src/trace/scheduler_trace.cpp), for the
  // schedulers and their workers; call only when get_tracer() is set. They
  // never throw: a trace that cannot grow loses events.
  void trace_instant(trace_event::kind what, task_header* task) noexcept;
  /// A task turn; `wait_word`: thread_context::last_wait when the turn left
  /// the task suspended, else 0.
  void trace_span_of(task_header* task, std::int64_t start_ns, std::uint64_t wait_word) noexcept;
  void trace_park(std::int64_t start_ns) noexcept;
  void trace_lane(const char* prefix, std::size_t index = static_cast<std::size_t>(-1)) noexcept;
  void trace_flush() noexcept;
  std::int64_t get_tracer_now() const noexcept;

 protected:
  /// Paused clock: every task waits and nothing can wake them. Prints the
  /// task dump to stderr; block_on then throws brigade::deadlock_error.
  void report_stall() noexcept;
  bool stalled() const noexcept { return stalled_.load(memory_order_acquire); }
  [[noreturn]] void throw_deadlock() const;
  /// Fills the blocking-pool gauges of a metrics snapshot.
  void add_blocking_metrics(runtime_metrics& m) const noexcept;
  /// Writes the trace file (if any). Called at the end of shutdown.
  void finish_trace() noexcept;

  runtime_options options_;
  std::unique_ptr<tracer> tracer_;  // before blocking_: the pool records into it
  std::unique_ptr<driver> driver_;
  std::unique_ptr<blocking_pool> blocking_;
  atomic<bool> stalled_{false};
};

/// A spawned task failed and nobody will observe the failure: calls the
/// runtime's unhandled_exception hook (or prints to stderr). Safe after the
/// runtime is gone (then it prints).
void report_unhandled_task_failure(task_header* task) noexcept;

/// Completes a task whose body finished (or that was cancelled before it
/// started): COMPLETE, then wakes the joiner or reports an unobserved
/// failure. The scheduler still holds its reference afterwards.
void complete_task(task_header* task, std::uint64_t extra_bits = 0) noexcept;

/// Destroys the frame of a task that will never run again (runtime
/// shutdown): the task completes as cancelled, its joiner is woken.
/// The scheduler still holds its reference afterwards.
void destroy_task(task_header* task) noexcept;

/// Fills a task's header for spawning on `sched`: name, location, state
/// SPAWNED | JOIN_INTEREST (when `join` says so) and its references.
enum class join_kind : std::uint8_t { detached, joined };
void prepare_spawn(task_header* task, scheduler& sched, std::string_view name,
                   const source_location& location, join_kind join) noexcept;

/// Runs one scheduled task: polls its waiter, resumes it, completes it.
/// Shared by every flavor so that the task state machine lives in one place.
enum class run_result : std::uint8_t { suspended, requeue, completed };
run_result run_task(task_header* task) noexcept;

}  // namespace brigade::detail
