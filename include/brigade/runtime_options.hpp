#pragma once

#include <brigade/source_location.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

namespace brigade {

/// How a runtime runs its tasks.
enum class flavor : std::uint8_t {
  /// One thread (the one that calls block_on): an event loop with a FIFO run
  /// queue. Tasks make progress only while block_on is running.
  current_thread,
  /// N worker threads with work stealing; tasks migrate between workers.
  multi_thread,
};

/// Which I/O backend the runtime uses (see the I/O driver).
enum class io_backend : std::uint8_t { automatic, epoll, io_uring };

/// Where the runtime's time comes from.
enum class clock_kind : std::uint8_t {
  steady,  ///< std::chrono::steady_clock
  paused,  ///< virtual time that jumps forward when every task is idle
};

/// What the unhandled-exception hook learns about the failed task.
struct task_info {
  std::string_view name;  ///< empty when the task was spawned unnamed
  source_location location;
};

/// Options of a runtime. Field order is part of the API contract: new fields
/// are only ever appended.
struct runtime_options {
  brigade::flavor flavor = brigade::flavor::multi_thread;
  /// Worker threads of a multi_thread runtime; 0 means one per hardware thread.
  std::size_t worker_threads = 0;
  io_backend io = io_backend::automatic;
  clock_kind clock = clock_kind::steady;
  /// Chrome trace-event output file; empty turns tracing off.
  std::string trace_path = {};
  /// Called (on the thread that noticed it) when a task nobody joins ends
  /// with an exception other than brigade::cancelled. Empty: print the task's
  /// name, spawn location and exception message to stderr, keep running.
  std::function<void(std::exception_ptr, const task_info&)> unhandled_exception = {};
  /// Record a trace even without trace_path, for runtime::trace().
  bool trace_in_memory = false;
};

}  // namespace brigade
