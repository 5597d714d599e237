#include "trace/tracer.hpp"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <unordered_map>

namespace brigade::detail {

namespace {

// Tracers alive, by id, so a thread's staged events are never flushed into
// a tracer that is gone (a thread may outlive a runtime it once served), nor
// into a new tracer that happens to live at the old one's address.
std::mutex& alive_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<std::uint64_t, tracer*>& alive() {
  static std::unordered_map<std::uint64_t, tracer*> m;
  return m;
}
std::atomic<std::uint64_t> next_tracer_id{1};

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
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
}

}  // namespace

struct tracer::staging {
  std::uint64_t owner_id = 0;
  std::uint32_t lane = 0;
  std::vector<trace_event> buf;

  void flush_to_owner() {
    if (owner_id == 0 || buf.empty()) return;
    std::lock_guard lock(alive_mutex());
    auto it = alive().find(owner_id);
    if (it != alive().end()) {
      tracer* owner = it->second;
      std::lock_guard l2(owner->mutex_);
      for (auto& e : buf) {
        if (owner->events_.size() >= max_events) {
          ++owner->dropped_;
        } else {
          owner->events_.push_back(std::move(e));
        }
      }
    }
    buf.clear();
  }
  ~staging() { flush_to_owner(); }
};

tracer::tracer(std::string path)
    : id_(next_tracer_id.fetch_add(1, std::memory_order_relaxed)),
      path_(std::move(path)),
      origin_(std::chrono::steady_clock::now()) {
  std::lock_guard lock(alive_mutex());
  alive().emplace(id_, this);
}

tracer::~tracer() {
  std::lock_guard lock(alive_mutex());
  alive().erase(id_);
}

tracer::staging& tracer::local() {
  thread_local staging s;
  if (s.owner_id != id_) {
    s.flush_to_owner();
    s.owner_id = id_;
    std::lock_guard lock(mutex_);
    s.lane = static_cast<std::uint32_t>(lanes_.size());
    lanes_.push_back("thread " + std::to_string(lanes_.size()));
  }
  return s;
}

void tracer::register_lane(std::string name) {
  staging& s = local();
  std::lock_guard lock(mutex_);
  lanes_[s.lane] = std::move(name);
}

std::string tracer::name_of(const task_header* t) {
  if (t == nullptr) return {};
  if (t->name_ != nullptr) return t->name_;
  std::string n = "task@";
  const char* file = t->location_.file_name();
  const char* slash = file;
  for (const char* p = file; *p != '\0'; ++p) {
    if (*p == '/') slash = p + 1;
  }
  n += slash;
  n += ':';
  n += std::to_string(t->location_.line());
  return n;
}

void tracer::push(trace_event&& e) {
  staging& s = local();
  e.lane = s.lane;
  s.buf.push_back(std::move(e));
  if (s.buf.size() >= flush_batch) s.flush_to_owner();
}

void tracer::span(trace_event::kind what, const task_header* task, std::int64_t start_ns,
                  std::int64_t end_ns, std::string waits_on) {
  trace_event e;
  e.what = what;
  e.task = id_of(task);
  e.start_ns = start_ns;
  e.end_ns = end_ns;
  e.name = name_of(task);
  e.waits_on = std::move(waits_on);
  push(std::move(e));
}

void tracer::span(trace_event::kind what, std::string_view label, std::int64_t start_ns,
                  std::int64_t end_ns) {
  trace_event e;
  e.what = what;
  e.start_ns = start_ns;
  e.end_ns = end_ns;
  e.name = label;
  push(std::move(e));
}

void tracer::instant(trace_event::kind what, const task_header* task, const task_header* other) {
  trace_event e;
  e.what = what;
  e.task = id_of(task);
  e.other = id_of(other);
  e.start_ns = e.end_ns = now_ns();
  e.name = name_of(task);
  push(std::move(e));
}

void tracer::flush_thread() { local().flush_to_owner(); }

trace_recording tracer::snapshot() {
  flush_thread();
  std::lock_guard lock(mutex_);
  trace_recording r;
  r.lanes = lanes_;
  r.events = events_;
  r.dropped = dropped_;
  return r;
}

void tracer::write_file() {
  if (path_.empty() || written_) return;
  written_ = true;
  const std::string json = snapshot().chrome_json();
  std::ofstream out(path_, std::ios::binary | std::ios::trunc);
  out << json;
  if (!out) std::fprintf(stderr, "brigade: cannot write the trace to %s\n", path_.c_str());
}

}  // namespace brigade::detail

namespace brigade {

std::string trace_recording::chrome_json() const {
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ",\n";
    first = false;
  };
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    sep();
    out += "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":" + std::to_string(i) +
           ",\"args\":{\"name\":";
    detail::append_json_string(out, lanes[i]);
    out += "}}";
  }
  char num[64];
  for (const trace_event& e : events) {
    sep();
    const char* cat = "task";
    const char* ph = "X";
    switch (e.what) {
      case trace_event::kind::run:
        break;
      case trace_event::kind::park:
        cat = "park";
        break;
      case trace_event::kind::blocking:
        cat = "blocking";
        break;
      case trace_event::kind::user:
        cat = "user";
        break;
      case trace_event::kind::spawn:
        cat = "spawn";
        ph = "i";
        break;
      case trace_event::kind::wake:
        cat = "wake";
        ph = "i";
        break;
      case trace_event::kind::steal:
        cat = "steal";
        ph = "i";
        break;
    }
    out += "{\"ph\":\"";
    out += ph;
    out += "\",\"cat\":\"";
    out += cat;
    out += "\",\"name\":";
    std::string label = e.name.empty() ? std::string(cat) : e.name;
    if (e.what == trace_event::kind::park) label = "park";
    detail::append_json_string(out, label);
    std::snprintf(num, sizeof num, ",\"pid\":1,\"tid\":%u,\"ts\":%.3f", e.lane,
                  static_cast<double>(e.start_ns) / 1000.0);
    out += num;
    if (ph[0] == 'X') {
      std::snprintf(num, sizeof num, ",\"dur\":%.3f",
                    static_cast<double>(e.end_ns - e.start_ns) / 1000.0);
      out += num;
    } else {
      out += ",\"s\":\"t\"";
    }
    std::snprintf(num, sizeof num, ",\"args\":{\"task\":\"%llx\",\"other\":\"%llx\"",
                  static_cast<unsigned long long>(e.task),
                  static_cast<unsigned long long>(e.other));
    out += num;
    if (!e.waits_on.empty()) {
      out += ",\"waits_on\":";
      detail::append_json_string(out, e.waits_on);
    }
    out += "}}";
  }
  out += "\n]}\n";
  return out;
}

}  // namespace brigade
