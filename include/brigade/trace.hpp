#pragma once
// Tracing: what every worker did, and when (runtime_options::trace_path).
//
// With tracing on, the runtime records per-worker spans (each task turn,
// with what the task then waits on; parks, blocking-pool jobs, user spans) and instants (spawns,
// wake-ups with who woke whom, steals) in bounded per-thread buffers. At shutdown they are written
// to trace_path as Chrome trace-event JSON, which opens in Perfetto (ui.perfetto.dev) or
// chrome://tracing. runtime::trace() returns the events recorded so far, e.g. to draw your own
// timeline.
//
// Cost when off: one predictable branch per task turn, wake and spawn.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace brigade {

struct trace_event {
  enum class kind : std::uint8_t {
    run,       ///< span: a task turn on a worker
    park,      ///< span: a worker (or the current_thread loop) slept
    blocking,  ///< span: a spawn_blocking job on a pool thread
    user,      ///< span: a trace_span
    spawn,     ///< instant: `task` was spawned by `other` (0: from outside)
    wake,      ///< instant: `task` was woken by `other` (0: timer, I/O, thread)
    steal,     ///< instant: a worker stole tasks; `task` is the one it ran
  };
  kind what = kind::run;
  std::uint32_t lane = 0;     ///< index into trace_recording::lanes
  std::uint64_t task = 0;     ///< task id (0: none)
  std::uint64_t other = 0;    ///< see kind
  std::int64_t start_ns = 0;  ///< since the runtime started
  std::int64_t end_ns = 0;    ///< == start_ns for instants
  std::string name;           ///< task name (or "task@file:line"), span label
  /// run spans: what the task waits on now that its turn ended ("mutex
  /// 0x..", "sleep until +5.000 ms", "read fd 7"); empty when it completed,
  /// was re-queued, or suspended on something that records no wait.
  std::string waits_on;
};

/// A copy of the events recorded so far.
struct trace_recording {
  std::vector<std::string> lanes;  ///< "worker 0", "blocking 3", ...
  std::vector<trace_event> events;
  std::uint64_t dropped = 0;  ///< events lost to the buffer bound

  /// Chrome trace-event JSON (the format of trace_path).
  std::string chrome_json() const;
};

/// Records a named span on the calling thread's lane while it lives, when
/// the current runtime traces (otherwise it costs one branch).
/// Thread safety: use from the thread that created it.
/// Example: { brigade::trace_span s{"clean the kitchen"}; clean(); }
class trace_span {
 public:
  explicit trace_span(std::string_view label);
  trace_span(const trace_span&) = delete;
  trace_span& operator=(const trace_span&) = delete;
  ~trace_span();

 private:
  void* tracer_ = nullptr;
  std::int64_t start_ns_ = 0;
  std::string label_;
};

}  // namespace brigade
