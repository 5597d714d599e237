// Timelines for the HTML report (see timeline.hpp).

#include "timeline.hpp"

#include "measure.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <utility>

namespace brigade::app {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '<':
        // "</script>" inside the embedded data would end the script.
        out += "\\u003c";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

timeline from_recording(std::string title, trace_recording r, std::size_t max_events) {
  timeline t;
  t.title = std::move(title);
  t.lanes = std::move(r.lanes);
  t.dropped = r.dropped;
  std::stable_sort(
      r.events.begin(), r.events.end(),
      [](const trace_event& a, const trace_event& b) { return a.start_ns < b.start_ns; });
  if (r.events.size() > max_events) {
    t.cut = r.events.size() - max_events;
    r.events.resize(max_events);
  }
  t.events = std::move(r.events);
  return t;
}

std::string timeline::to_json() const {
  std::string out = "{\"title\":" + json_string(title) + ",\"lanes\":[";
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    if (i > 0) out += ',';
    out += json_string(lanes[i]);
  }
  std::vector<std::string> names;
  std::unordered_map<std::string, std::size_t> name_index;
  std::unordered_map<std::uint64_t, std::uint64_t> task_index;
  std::uint64_t next_task = 1;
  auto renumber = [&](std::uint64_t id, bool fresh) -> std::uint64_t {
    if (id == 0) return 0;
    auto it = task_index.find(id);
    if (it == task_index.end() || fresh) {
      task_index[id] = next_task;
      return next_task++;
    }
    return it->second;
  };
  std::string ev;
  char num[160];
  for (const trace_event& e : events) {
    const bool is_spawn = e.what == trace_event::kind::spawn;
    const std::uint64_t task = renumber(e.task, is_spawn);
    const std::uint64_t other = renumber(e.other, false);
    auto intern = [&](const std::string& text) -> std::size_t {
      auto [it, inserted] = name_index.try_emplace(text, names.size());
      if (inserted) names.push_back(text);
      return it->second;
    };
    const std::size_t name = intern(e.name);
    // What the task waits on after this turn (run spans); -1: nothing.
    const long long waits = e.waits_on.empty() ? -1 : static_cast<long long>(intern(e.waits_on));
    std::snprintf(num, sizeof num, "%s[%u,%u,%llu,%llu,%.1f,%.1f,%zu,%lld]", ev.empty() ? "" : ",",
                  static_cast<unsigned>(e.what), e.lane, static_cast<unsigned long long>(task),
                  static_cast<unsigned long long>(other), static_cast<double>(e.start_ns) / 1000.0,
                  static_cast<double>(e.end_ns) / 1000.0, name, waits);
    ev += num;
  }
  out += "],\"names\":[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += json_string(names[i]);
  }
  out += "],\"dropped\":" + std::to_string(dropped) + ",\"cut\":" + std::to_string(cut) +
         ",\"ev\":[" + ev + "]}";
  return out;
}

manual_trace::manual_trace() noexcept : origin_(wall_now_ns()) {}

std::uint32_t manual_trace::add_lane(std::string name) {
  std::lock_guard lock(mutex_);
  recording_.lanes.push_back(std::move(name));
  return static_cast<std::uint32_t>(recording_.lanes.size() - 1);
}

std::int64_t manual_trace::now_ns() const noexcept { return wall_now_ns() - origin_; }

void manual_trace::record(trace_event e) {
  std::lock_guard lock(mutex_);
  recording_.events.push_back(std::move(e));
}

void manual_trace::span(trace_event::kind what, std::uint32_t lane, std::uint64_t task,
                        std::int64_t start_ns, std::string name) {
  trace_event e;
  e.what = what;
  e.lane = lane;
  e.task = task;
  e.start_ns = start_ns;
  e.end_ns = now_ns();
  e.name = std::move(name);
  record(std::move(e));
}

timeline manual_trace::take(std::string title, std::size_t max_events) {
  trace_recording r;
  {
    std::lock_guard lock(mutex_);
    r = std::move(recording_);
    recording_ = {};
  }
  return from_recording(std::move(title), std::move(r), max_events);
}

}  // namespace brigade::app
