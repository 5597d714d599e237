// `brigade spawn-cost` (see spawn_cost.hpp).

#include "spawn_cost.hpp"

#include "args.hpp"
#include "forked_child.hpp"
#include "start_latency.hpp"
#include "table.hpp"
#include "timeline.hpp"
#include "workloads.hpp"

#include <brigade/runtime.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace brigade::app {

namespace {

namespace bb = brigade::bench;

constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();

/// A measured figure, or why there is none.
struct figure {
  std::vector<double> values;
  std::string error;
  bool ok() const noexcept { return error.empty() && !values.empty(); }
  double at(std::size_t i) const noexcept { return ok() ? values.at(i) : not_measured; }
};

figure from_child(const child_outcome& c) {
  return c.ok ? figure{c.values, {}} : figure{{}, c.error.empty() ? "failed" : c.error};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::unique_ptr<runtime> make_runtime(brigade::flavor f, std::size_t workers) {
  std::string why;
  auto rt = bb::try_make_runtime(f, workers, why);
  if (!rt) throw std::runtime_error(std::string(bb::flavor_name(f)) + " unavailable: " + why);
  return rt;
}

/// ns per task of `rounds` spawn + join rounds of `n` tasks on one runtime;
/// `warmup` extra rounds first, not counted. Returns the median round.
std::vector<double> spawn_join_rounds(brigade::flavor f, std::size_t workers, std::size_t n,
                                      std::size_t warmup, std::size_t rounds) {
  auto rt = make_runtime(f, workers);
  bb::handle_vector handles;
  std::vector<double> per_task;
  for (std::size_t r = 0; r < warmup + rounds; ++r) {
    const double ns = static_cast<double>(rt->block_on(bb::timed_spawn_join(n, handles)));
    if (r >= warmup) per_task.push_back(ns / static_cast<double>(n));
  }
  return {median(per_task)};
}

figure measure_or_error(const std::function<std::vector<double>()>& measure) {
  try {
    return figure{measure(), {}};
  } catch (const std::exception& e) {
    return figure{{}, e.what()};
  }
}

std::vector<double> idle_values(bb::idle_kind kind, std::size_t n) {
  const bb::idle_result r = bb::measure_idle_tasks(kind, n);
  return {r.per_task.heap, r.per_task.rss,       r.per_task.kernel,
          r.per_task.vm,   double(r.frame_size), double(r.block_size)};
}

std::vector<double> blocked_values(std::size_t m) {
  const bb::blocked_threads_result r = bb::measure_blocked_threads(m);
  return {r.per_thread.heap, r.per_thread.rss, r.per_thread.kernel, r.per_thread.vm,
          double(r.stack_reserve)};
}

struct notes {
  std::vector<std::string> lines;
  void add(const std::string& what, const figure& f) {
    if (!f.ok()) lines.push_back(what + ": " + (f.error.empty() ? "no result" : f.error));
  }
  void print() const {
    for (const std::string& l : lines) std::printf("  note: %s\n", l.c_str());
  }
};

void print_start_table(const spawn_cost_options& o, const figure& ct_cold, const figure& mt_cold,
                       const figure& ct_warm, const figure& mt_warm, const figure& threads) {
  const double thread_ns = threads.at(0);
  const std::string mt =
      "multi_thread (" + std::to_string(o.workers) + (o.workers == 1 ? " worker)" : " workers)");
  text_table t({{"how", align::left}, {"per start"}, {"std::thread ÷ this"}});
  auto row = [&](const std::string& what, const figure& f) {
    t.add_row({what, format_duration_ns(f.at(0)), format_ratio(thread_ns / f.at(0))});
  };
  row("task, current_thread, first round (fresh process)", ct_cold);
  row("task, current_thread, warm", ct_warm);
  row("task, " + mt + ", first round (fresh process)", mt_cold);
  row("task, " + mt + ", warm", mt_warm);
  row("std::thread create + join, one at a time", threads);
  std::printf("1. Starting work: spawn + run + join of an empty task (%s tasks per round)\n",
              format_count(o.tasks).c_str());
  std::printf("   vs create + join of a std::thread running an empty function (%s threads)\n\n",
              format_count(o.threads).c_str());
  t.print(stdout);
  notes n;
  n.add("current_thread first round", ct_cold);
  n.add("current_thread warm", ct_warm);
  n.add("multi_thread first round", mt_cold);
  n.add("multi_thread warm", mt_warm);
  n.add("std::thread", threads);
  n.print();
}

void print_memory_table(const spawn_cost_options& o, const figure& parked, const figure& joining,
                        const figure& blocked) {
  // values: heap, rss, kernel, vm; total = rss + kernel (what the machine pays).
  // Virtual size only means something for threads (their stack reservation):
  // the tasks' heap grows inside an arena glibc reserved up front.
  const double thread_total = blocked.at(1) + blocked.at(2);
  text_table t({{"waiter", align::left},
                {"heap"},
                {"RSS"},
                {"kernel"},
                {"RSS + kernel"},
                {"virtual"},
                {"thread ÷ this"}});
  enum class show_virtual : bool { no, yes };
  auto row = [&](const std::string& what, const figure& f, show_virtual v) {
    const double total = f.at(1) + f.at(2);
    t.add_row({what, format_bytes(f.at(0)), format_bytes(f.at(1)), format_bytes(f.at(2)),
               format_bytes(total), v == show_virtual::yes ? format_bytes(f.at(3)) : "-",
               format_ratio(thread_total / total)});
  };
  row("idle task, parked on a gate (notify-like)", parked, show_virtual::no);
  row("idle task, awaiting a join_handle", joining, show_virtual::no);
  row("std::thread blocked on a std::latch", blocked, show_virtual::yes);
  std::printf("\n2. Memory while waiting, per waiter (%s tasks, %s threads alive at once)\n\n",
              format_count(o.tasks).c_str(), format_count(o.threads).c_str());
  t.print(stdout);
  std::printf("\n");
  for (const auto& [name, f] : {std::pair{"parked", &parked}, std::pair{"joining", &joining}}) {
    if (!f->ok()) continue;
    std::printf(
        "  %s task: %.0f B coroutine frame + 80 B task header -> %.0f B block "
        "(16 B size classes up to 512 B; heap adds malloc's chunk header)\n",
        name, f->at(4), f->at(5));
  }
  if (blocked.ok()) {
    std::printf(
        "  thread: %s stack reserved per thread (virtual, not resident); kernel = "
        "KernelStack + PageTables + SUnreclaim\n  from /proc/meminfo, system-wide, "
        "so approximate\n",
        format_bytes(blocked.at(4)).c_str());
  }
  notes n;
  n.add("parked tasks", parked);
  n.add("joining tasks", joining);
  n.add("blocked threads", blocked);
  n.print();
}

/// Start latencies: values are p50, p99 (ns) and the sample count.
figure latency_figure(const std::function<latency_figures()>& measure) {
  return measure_or_error([&] {
    const latency_figures f = measure();
    return std::vector<double>{f.p50_ns, f.p99_ns, static_cast<double>(f.samples)};
  });
}

/// Samples per start-latency figure: enough for a p99, few enough to be quick.
std::size_t latency_samples(std::size_t wanted) { return std::min<std::size_t>(wanted, 5'000); }

void print_latency_table(const figure& thread, const figure& ct, const figure& mt,
                         const std::string& mt_name) {
  const double thread_p50 = thread.at(0);
  text_table t(
      {{"what starts", align::left}, {"p50"}, {"p99"}, {"samples"}, {"thread p50 ÷ this"}});
  auto row = [&](const std::string& what, const figure& f) {
    t.add_row({what, format_duration_ns(f.at(0)), format_duration_ns(f.at(1)),
               f.ok() ? format_count(static_cast<std::size_t>(f.at(2))) : "-",
               format_ratio(thread_p50 / f.at(0))});
  };
  row("std::thread", thread);
  row("task, current_thread", ct);
  row("task, " + mt_name, mt);
  std::printf(
      "\n3. Start latency: from the spawn call to the first instruction of the body\n"
      "   (one start at a time)\n\n");
  t.print(stdout);
  notes n;
  n.add("thread start latency", thread);
  n.add("current_thread start latency", ct);
  n.add("multi_thread start latency", mt);
  n.print();
}

std::string json_value(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// {"p50_ns":..,"p99_ns":..,"samples":..,"error":..}
std::string latency_json(const figure& f) {
  return "{\"p50_ns\":" + json_value(f.at(0)) + ",\"p99_ns\":" + json_value(f.at(1)) +
         ",\"samples\":" + json_value(f.at(2)) + ",\"error\":" + json_string(f.error) + "}";
}

/// Per waiter: heap, RSS, kernel, their total (RSS + kernel), virtual.
std::string memory_json(const figure& f) {
  return "{\"heap_bytes\":" + json_value(f.at(0)) + ",\"rss_bytes\":" + json_value(f.at(1)) +
         ",\"kernel_bytes\":" + json_value(f.at(2)) +
         ",\"total_bytes\":" + json_value(f.at(1) + f.at(2)) +
         ",\"virtual_bytes\":" + json_value(f.at(3)) + ",\"error\":" + json_string(f.error) + "}";
}

/// {"ns":..,"error":..} for a per-start cost.
std::string cost_json(const figure& f) {
  return "{\"ns\":" + json_value(f.at(0)) + ",\"error\":" + json_string(f.error) + "}";
}

}  // namespace

const char* spawn_cost_usage() noexcept {
  return "usage: brigade spawn-cost [--tasks N] [--threads M] [--rounds R] [--workers W]\n"
         "                          [--json]\n"
         "\n"
         "  Starts N tasks and M OS threads and shows, side by side, the time per start\n"
         "  (create + join), the start latency (p50/p99, from the spawn call to the first\n"
         "  instruction of the body) and the memory per waiting task or blocked thread,\n"
         "  with the ratios.\n"
         "\n"
         "  --tasks N     tasks per round and idle tasks held at once (default 200,000)\n"
         "  --threads M   threads created and joined, and held blocked (default 1,000)\n"
         "  --rounds R    warm rounds; the median is reported (default 5)\n"
         "  --workers W   workers of the multi_thread runtime (default 2)\n"
         "  --json        print the figures as JSON on stdout instead of the tables\n";
}

bool parse_spawn_cost_args(std::span<const std::string_view> args, spawn_cost_options& options) {
  const size_option specs[] = {
      {"--tasks", &options.tasks, 1, 50'000'000},
      {"--threads", &options.threads, 1, 20'000},
      {"--rounds", &options.rounds, 1, 1'000},
      {"--workers", &options.workers, 1, 1'024},
  };
  const flag_option flags[] = {{"--json", &options.json}};
  return parse_options(args, option_set{specs, flags}) == parse_outcome::run;
}

int run_spawn_cost(const spawn_cost_options& o) {
  if (!o.json) {
    std::printf(
        "brigade spawn-cost: what starting and keeping work costs on this machine\n"
        "(fresh-process figures come from forked children; warm figures are medians of "
        "%zu rounds)\n\n",
        o.rounds);
    std::fflush(stdout);
  }
  std::fprintf(stderr, "measuring in fresh processes...\n");
  // Forked children first, while this process is single-threaded and has
  // touched nothing (see forked_child.hpp).
  const std::size_t n = o.tasks;
  const figure ct_cold = from_child(
      run_in_child([&] { return spawn_join_rounds(flavor::current_thread, 0, n, 0, 1); }));
  const figure mt_cold = from_child(
      run_in_child([&] { return spawn_join_rounds(flavor::multi_thread, o.workers, n, 0, 1); }));
  const figure parked =
      from_child(run_in_child([&] { return idle_values(bb::idle_kind::parked, n); }));
  const figure joining =
      from_child(run_in_child([&] { return idle_values(bb::idle_kind::joining, n); }));
  const figure blocked = from_child(run_in_child([&] { return blocked_values(o.threads); }));

  std::fprintf(stderr, "measuring warm rounds...\n");
  const figure ct_warm = measure_or_error(
      [&] { return spawn_join_rounds(flavor::current_thread, 0, n, 1, o.rounds); });
  const figure mt_warm = measure_or_error(
      [&] { return spawn_join_rounds(flavor::multi_thread, o.workers, n, 1, o.rounds); });
  const figure threads = measure_or_error([&] {
    std::vector<double> per_thread;
    for (std::size_t r = 0; r < o.rounds; ++r)
      per_thread.push_back(bb::thread_create_join_ns(o.threads));
    return std::vector<double>{median(per_thread)};
  });

  std::fprintf(stderr, "measuring start latency...\n");
  const figure thread_latency =
      latency_figure([&] { return thread_start_latency(latency_samples(o.threads)); });
  const figure ct_latency = latency_figure(
      [&] { return task_start_latency(flavor::current_thread, 0, latency_samples(n)); });
  const figure mt_latency = latency_figure(
      [&] { return task_start_latency(flavor::multi_thread, o.workers, latency_samples(n)); });

  const bool essentials = ct_cold.ok() && ct_warm.ok() && threads.ok() && parked.ok() &&
                          joining.ok() && blocked.ok() && thread_latency.ok() && ct_latency.ok();
  if (o.json) {
    std::printf(
        "{\"command\":\"spawn-cost\",\"tasks\":%zu,\"threads\":%zu,\"rounds\":%zu,"
        "\"workers\":%zu,\n \"create_join\":{\"task_current_thread_cold\":%s,"
        "\"task_current_thread_warm\":%s,\"task_multi_thread_cold\":%s,"
        "\"task_multi_thread_warm\":%s,\"thread\":%s},\n"
        " \"start_latency\":{\"thread\":%s,\"task_current_thread\":%s,"
        "\"task_multi_thread\":%s},\n \"memory_per_waiter\":{\"task_parked\":%s,"
        "\"task_joining\":%s,\"thread_blocked\":%s},\"ok\":%s}\n",
        o.tasks, o.threads, o.rounds, o.workers, cost_json(ct_cold).c_str(),
        cost_json(ct_warm).c_str(), cost_json(mt_cold).c_str(), cost_json(mt_warm).c_str(),
        cost_json(threads).c_str(), latency_json(thread_latency).c_str(),
        latency_json(ct_latency).c_str(), latency_json(mt_latency).c_str(),
        memory_json(parked).c_str(), memory_json(joining).c_str(), memory_json(blocked).c_str(),
        essentials ? "true" : "false");
    return essentials ? 0 : 1;
  }
  print_start_table(o, ct_cold, mt_cold, ct_warm, mt_warm, threads);
  print_memory_table(o, parked, joining, blocked);
  print_latency_table(
      thread_latency, ct_latency, mt_latency,
      "multi_thread (" + std::to_string(o.workers) + (o.workers == 1 ? " worker)" : " workers)"));
  return essentials ? 0 : 1;
}

}  // namespace brigade::app
