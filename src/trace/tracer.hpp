#pragma once
// The recorder behind runtime_options::trace_path (see brigade/trace.hpp).
//
// Each thread stages events in a thread-local buffer and flushes it to the
// tracer under its mutex every flush_batch events, when it parks, and when
// it leaves the runtime; so recording costs no lock per event. The total is
// bounded (max_events); beyond it events are counted as dropped.
// Names are copied when recorded: a task's name dies with the task.

#include <brigade/detail/task_header.hpp>
#include <brigade/trace.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace brigade::detail {

class tracer {
 public:
  static constexpr std::size_t flush_batch = 256;
  static constexpr std::size_t max_events = 4'000'000;

  explicit tracer(std::string path);
  ~tracer();
  tracer(const tracer&) = delete;
  tracer& operator=(const tracer&) = delete;

  /// Names the calling thread's lane (once per thread and tracer).
  void register_lane(std::string name);

  std::int64_t now_ns() const noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                origin_)
        .count();
  }

  void span(trace_event::kind what, const task_header* task, std::int64_t start_ns,
            std::int64_t end_ns, std::string waits_on = {});
  void span(trace_event::kind what, std::string_view label, std::int64_t start_ns,
            std::int64_t end_ns);
  void instant(trace_event::kind what, const task_header* task, const task_header* other);

  /// Moves the calling thread's staged events to the shared list.
  void flush_thread();

  trace_recording snapshot();
  /// Writes the Chrome JSON to the path given at construction (if any).
  void write_file();

  static std::uint64_t id_of(const task_header* t) noexcept {
    return reinterpret_cast<std::uintptr_t>(t);
  }
  static std::string name_of(const task_header* t);

 private:
  struct staging;
  staging& local();
  void push(trace_event&& e);

  const std::uint64_t id_;  // unique per tracer: addresses are reused
  const std::string path_;
  const std::chrono::steady_clock::time_point origin_;
  std::mutex mutex_;
  std::vector<std::string> lanes_;
  std::vector<trace_event> events_;
  std::uint64_t dropped_ = 0;
  bool written_ = false;
};

}  // namespace brigade::detail
