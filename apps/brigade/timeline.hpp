#pragma once
// A timeline to draw: lanes (one per worker or OS thread) and the events on
// them, as brigade::trace_event. Runtime models take theirs from
// runtime::trace(); models without a runtime (synchronous code, one OS
// thread per task) record the same events with manual_trace, so every model
// is drawn by the same code (html_report.hpp).
//
// to_json() is the compact form the HTML report embeds:
//   {"title": ..., "lanes": [...], "names": [...], "dropped": n, "cut": n,
//    "ev": [[kind, lane, task, other, start_us, end_us, name_index], ...]}
// kind: 0 run, 1 park, 2 blocking, 3 user, 4 spawn, 5 wake, 6 steal (the
// order of trace_event::kind). Task ids are renumbered 1, 2, ... in order of
// appearance; a spawn of a reused id (a recycled frame) starts a new task.

#include <brigade/trace.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::app {

struct timeline {
  std::string title;
  std::vector<std::string> lanes;
  std::vector<trace_event> events;
  std::uint64_t dropped = 0;  ///< lost by the runtime's bounded buffer
  std::size_t cut = 0;        ///< left out of the drawing (see from_recording)

  std::string to_json() const;
};

/// The first `max_events` events of `r` (by start time); the rest counted in
/// `cut`, so a huge run still gives a drawable page.
timeline from_recording(std::string title, trace_recording r, std::size_t max_events);

/// Records spans and instants for code that runs without a runtime.
/// Thread safety: every member may be called from any thread.
class manual_trace {
 public:
  manual_trace() noexcept;

  /// A new lane named `name`; returns its index.
  std::uint32_t add_lane(std::string name);
  /// Nanoseconds since construction.
  std::int64_t now_ns() const noexcept;
  void record(trace_event e);
  /// A span from `start_ns` to now.
  void span(trace_event::kind what, std::uint32_t lane, std::uint64_t task, std::int64_t start_ns,
            std::string name);

  timeline take(std::string title, std::size_t max_events);

 private:
  std::int64_t origin_;
  mutable std::mutex mutex_;
  trace_recording recording_;
};

/// `s` as a JSON string literal (quotes included).
std::string json_string(std::string_view s);

}  // namespace brigade::app
