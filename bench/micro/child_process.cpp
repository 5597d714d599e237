// Measurements that need a fresh process: the benchmark binary runs itself
// as a child (see bench_util.hpp) and reads back `key=value` lines.

#include "bench_util.hpp"

#include "workloads.hpp"

#include <brigade/when.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

namespace brigade::bench {

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

void print_value(const char* key, double value) { std::printf("%s=%.6f\n", key, value); }

std::size_t parse_count(const char* text) {
  const std::string s = text;
  std::size_t used = 0;
  const unsigned long long v = std::stoull(s, &used);
  if (used != s.size() || v == 0) throw std::invalid_argument("bad count: " + s);
  return static_cast<std::size_t>(v);
}

int spawn_join_first(const char* flavor_text, const char* workers_text, const char* n_text) {
  const std::string_view f = flavor_text;
  const brigade::flavor fl = f == "multi_thread" ? flavor::multi_thread : flavor::current_thread;
  const std::size_t workers = std::stoull(workers_text);
  const std::size_t n = parse_count(n_text);
  std::string why;
  std::unique_ptr<runtime> rt = try_make_runtime(fl, workers, why);
  if (!rt) {
    std::printf("error=%s unavailable: %s\n", flavor_name(fl), why.c_str());
    return 3;
  }
  handle_vector handles;
  const std::int64_t ns = rt->block_on(timed_spawn_join(n, handles));
  print_value("ns_total", static_cast<double>(ns));
  print_value("ns_per_task", static_cast<double>(ns) / static_cast<double>(n));
  return 0;
}

int idle_tasks(const char* kind_text, const char* n_text) {
  const idle_kind kind =
      std::string_view(kind_text) == "joining" ? idle_kind::joining : idle_kind::parked;
  const idle_result r = measure_idle_tasks(kind, parse_count(n_text));
  print_value("heap_per_task", r.per_task.heap);
  print_value("rss_per_task", r.per_task.rss);
  print_value("frame_size", r.frame_size);
  print_value("block_size", static_cast<double>(r.block_size));
  print_value("live_frames", static_cast<double>(r.live_frames));
  return 0;
}

int blocked_threads(const char* m_text) {
  const blocked_threads_result r = measure_blocked_threads(parse_count(m_text));
  print_value("heap_per_thread", r.per_thread.heap);
  print_value("rss_per_thread", r.per_thread.rss);
  print_value("vm_per_thread", r.per_thread.vm);
  print_value("kernel_per_thread", r.per_thread.kernel);
  print_value("stack_reserve", static_cast<double>(r.stack_reserve));
  return 0;
}

task<> repeat_body(std::string_view what, std::size_t count) {
  if (what == "spawn-join") {
    handle_vector handles;
    for (std::size_t r = 0; r < count; ++r) co_await timed_spawn_join(1024, handles);
  } else if (what == "yield") {
    for (std::size_t i = 0; i < count; ++i) co_await yield_now();
  } else if (what == "chain") {
    // Chains of 1000 levels, as BM_await_chain: warm frames after the first.
    for (std::size_t done = 0; done < count; done += 1000) co_await chain_depth(1000);
  } else if (what == "when-all") {
    for (std::size_t i = 0; i < count; ++i) co_await when_all(empty_task(), empty_task());
  } else {
    throw std::invalid_argument("repeat: unknown workload " + std::string(what));
  }
}

/// `repeat <workload> <count>`: the workload `count` times on a
/// current_thread runtime, for instruction counting (bench/instructions.py
/// runs it under callgrind at two counts and divides the difference).
int repeat(const char* what, const char* count_text) {
  runtime rt{runtime_options{.flavor = flavor::current_thread}};
  rt.block_on(repeat_body(what, parse_count(count_text)));
  print_value("done", 1);
  return 0;
}

}  // namespace

int child_main(int argc, char** argv) {
  try {
    const std::string_view mode = argc > 0 ? argv[0] : "";
    if (mode == "spawn-join-first" && argc == 4) {
      return spawn_join_first(argv[1], argv[2], argv[3]);
    }
    if (mode == "idle-tasks" && argc == 3) return idle_tasks(argv[1], argv[2]);
    if (mode == "blocked-threads" && argc == 2) return blocked_threads(argv[1]);
    if (mode == "repeat" && argc == 3) return repeat(argv[1], argv[2]);
    if (mode == "million-sleeps" && argc == 3) return million_sleeps(argv[1], parse_count(argv[2]));
    std::printf("error=unknown child mode '%.*s' or wrong argument count\n",
                static_cast<int>(mode.size()), mode.data());
    return 2;
  } catch (const std::exception& e) {
    std::printf("error=%s\n", e.what());
    return 1;
  }
}

child_report run_child(const std::vector<std::string>& args) {
  child_report report;
  std::string command = shell_quote(std::filesystem::read_symlink("/proc/self/exe").string());
  command += " --brigade-child";
  for (const std::string& a : args) {
    command += ' ';
    command += shell_quote(a);
  }
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    report.error = "popen failed: " + command;
    return report;
  }
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text = line;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = text.substr(0, eq);
    const std::string value = text.substr(eq + 1);
    if (key == "error") {
      report.error = value;
    } else {
      try {
        report.values[key] = std::stod(value);
      } catch (const std::exception&) {
        report.error = "unparsable child output: " + text;
      }
    }
  }
  const int status = ::pclose(pipe);
  if (report.error.empty() && status != 0) {
    report.error = "child exited with status " + std::to_string(status) + ": " + command;
  }
  report.ok = report.error.empty();
  return report;
}

void set_counters(benchmark::State& state, const child_report& report,
                  const std::vector<std::string>& keys) {
  for (const std::string& k : keys) state.counters[k] = report.get(k);
}

}  // namespace brigade::bench
