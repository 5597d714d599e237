// `brigade compare` (see compare.hpp).

#include "compare.hpp"

#include "args.hpp"
#include "compare_workloads.hpp"
#include "forked_child.hpp"
#include "html_report.hpp"
#include "progress.hpp"
#include "table.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

namespace brigade::app {

namespace {

struct result {
  load_plan plan;
  exec_model model = exec_model::synchronous;
  bool ok = false;
  std::string error;
  run_meter::figures figures;
  std::uint64_t checksum = 0;
  std::string timeline_json;

  double throughput() const {
    return figures.wall_ns > 0 ? static_cast<double>(plan.jobs) * 1e9 / figures.wall_ns : 0;
  }
};

result run_one(const load_plan& plan, exec_model m) {
  result r{plan, m, false, {}, {}, 0, {}};
  const child_text_outcome c = run_in_child_text([&] {
    const load_run run = run_load(plan, m);
    std::ostringstream out;
    out.precision(17);
    out << ' ' << run.figures.wall_ns << ' ' << run.figures.cpu_ns << ' '
        << run.figures.peak_rss_growth << ' ' << run.figures.threads << ' ' << run.checksum << '\n'
        << run.trace.to_json();
    return out.str();
  });
  if (!c.ok) {
    r.error = c.error;
    return r;
  }
  std::istringstream in(c.text);
  in >> r.figures.wall_ns >> r.figures.cpu_ns >> r.figures.peak_rss_growth >> r.figures.threads >>
      r.checksum;
  std::string rest;
  std::getline(in, rest);
  r.timeline_json.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  r.ok = !in.bad() && !r.timeline_json.empty();
  if (!r.ok) r.error = "the child's report was malformed";
  return r;
}

std::string json_number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v == v ? v : 0.0);
  return buf;
}

std::string rate_text(double per_s) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f jobs/s", per_s);
  return buf;
}

const std::vector<std::string> header = {"model",   "wall time", "CPU time", "peak RSS (growth)",
                                         "threads", "throughput"};

std::vector<std::string> row_of(const result& r) {
  if (!r.ok) return {exec_model_name(r.model, r.plan.workers), "failed: " + r.error};
  return {exec_model_name(r.model, r.plan.workers),
          format_duration_ns(r.figures.wall_ns),
          format_duration_ns(r.figures.cpu_ns),
          format_bytes(r.figures.peak_rss_growth),
          std::to_string(static_cast<long long>(r.figures.threads)),
          rate_text(r.throughput())};
}

std::string plan_text(const load_plan& p) {
  const std::string wait = format_duration_ns(static_cast<double>(p.wait.count()));
  if (p.requests > 0) {
    return format_count(p.jobs) + " jobs at once: " + format_count(p.jobs - p.requests) + " " +
           wait + " timer waits and " + format_count(p.requests) +
           " request/response exchanges over loopback TCP with an in-process server that "
           "answers each after " +
           wait + " (blocking sockets in the thread models).";
  }
  std::string s = format_count(p.jobs) + " jobs, each ";
  if (p.wait.count() > 0) s += "a " + wait + " timer wait";
  if (p.wait.count() > 0 && p.hash_rounds > 0) s += " then ";
  if (p.hash_rounds > 0) s += format_count(p.hash_rounds) + " rounds of FNV-1a over 4 KiB";
  return s + ".";
}

std::string claim_of(load_kind k) {
  switch (k) {
    case load_kind::io:
      return "Claim: for many waits, async wins: a waiting task holds no thread, so the waits "
             "overlap at the cost of a timer entry or a socket registration, not a thread "
             "start and a stack.";
    case load_kind::cpu:
      return "Claim: for CPU-bound work, threads win, one per core: more threads than cores "
             "add nothing, one thread cannot use the second core.";
    case load_kind::mixed:
      return "Claim: for a mix, both together: async tasks on a pool of one thread per core "
             "overlap the waits and spread the work.";
  }
  return {};
}

void print_json(const std::vector<result>& results, std::size_t job_us) {
  std::printf(
      "{\"command\":\"compare\",\"job_us\":%zu,\"hardware_threads\":%u,\"workers\":%zu,"
      "\"loads\":[",
      job_us, std::thread::hardware_concurrency(), results.empty() ? 0 : results[0].plan.workers);
  bool first_load = true;
  for (load_kind k : all_loads) {
    bool first_run = true;
    for (const result& r : results) {
      if (r.plan.kind != k) continue;
      if (first_run) {
        std::printf(
            "%s{\"key\":%s,\"name\":%s,\"jobs\":%zu,\"timer_waits\":%zu,"
            "\"tcp_requests\":%zu,\"wait_ns\":%lld,\"hash_rounds\":%zu,\"runs\":[",
            first_load ? "" : ",", json_string(load_key(k)).c_str(),
            json_string(load_name(k)).c_str(), r.plan.jobs,
            r.plan.wait.count() > 0 ? r.plan.jobs - r.plan.requests : 0, r.plan.requests,
            static_cast<long long>(r.plan.wait.count()), r.plan.hash_rounds);
        first_load = false;
      }
      std::printf(
          "%s{\"model\":%s,\"name\":%s,\"ok\":%s,\"error\":%s,\"wall_ms\":%s,"
          "\"cpu_ms\":%s,\"peak_rss_growth_bytes\":%s,\"threads\":%s,"
          "\"jobs_per_s\":%s,\"checksum\":\"%llx\"}",
          first_run ? "" : ",", json_string(exec_model_key(r.model)).c_str(),
          json_string(exec_model_name(r.model, r.plan.workers)).c_str(), r.ok ? "true" : "false",
          json_string(r.error).c_str(), json_number(r.figures.wall_ns / 1e6).c_str(),
          json_number(r.figures.cpu_ns / 1e6).c_str(),
          json_number(r.figures.peak_rss_growth).c_str(), json_number(r.figures.threads).c_str(),
          json_number(r.throughput()).c_str(), static_cast<unsigned long long>(r.checksum));
      first_run = false;
    }
    if (!first_run) std::printf("]}");
  }
  std::printf("]}\n");
}

void write_report(const std::vector<result>& results, const compare_options& o) {
  std::vector<html_section> sections;
  for (load_kind k : all_loads) {
    html_section s{load_name(k), {}, {}, {}, {}};
    html_table table{header, {}};
    html_bar_chart wall{"wall time (shorter is better)", "ms", {}};
    html_bar_chart cpu{"CPU time", "ms", {}};
    html_bar_chart rss{"peak RSS growth", "MiB", {}};
    for (const result& r : results) {
      if (r.plan.kind != k) continue;
      if (s.text.empty()) s.text = plan_text(r.plan) + " " + claim_of(k);
      table.rows.push_back(row_of(r));
      if (!r.ok) continue;
      const std::string name = exec_model_name(r.model, r.plan.workers);
      wall.bars.emplace_back(name, r.figures.wall_ns / 1e6);
      cpu.bars.emplace_back(name, r.figures.cpu_ns / 1e6);
      rss.bars.emplace_back(name, r.figures.peak_rss_growth / (1024.0 * 1024.0));
      s.timelines.push_back(r.timeline_json);
    }
    s.tables.push_back(std::move(table));
    s.charts = {std::move(wall), std::move(cpu), std::move(rss)};
    sections.push_back(std::move(s));
  }
  write_html_report(o.html, "brigade compare",
                    "One workload in four models, on this machine (" +
                        std::to_string(std::thread::hardware_concurrency()) +
                        " hardware threads). Each run happened in a fresh child process.",
                    sections);
}

}  // namespace

bool parse_compare_args(std::span<const std::string_view> args, compare_options& options) {
  const size_option sizes[] = {
      {"--io", &options.io, 1, 10'000},         {"--requests", &options.requests, 0, 2'000},
      {"--cpu", &options.cpu, 1, 100'000},      {"--mixed", &options.mixed, 1, 10'000},
      {"--wait-ms", &options.wait_ms, 1, 1000}, {"--job-us", &options.job_us, 10, 1'000'000},
      {"--workers", &options.workers, 1, 256}};
  const flag_option flags[] = {{"--json", &options.json}};
  const text_option texts[] = {{"--html", &options.html}, {"--trace", &options.trace}};
  return parse_options(args, option_set{sizes, flags, texts}) == parse_outcome::run;
}

int run_compare_command(const compare_options& o) {
  const std::size_t workers =
      o.workers != 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
  const std::size_t rounds = calibrate_hash_rounds(std::chrono::microseconds(o.job_us));
  const std::chrono::nanoseconds wait = std::chrono::milliseconds(o.wait_ms);
  const load_plan plans[] = {
      {load_kind::io, o.io + o.requests, wait, o.requests, 0, workers, {}},
      {load_kind::cpu, o.cpu, std::chrono::nanoseconds(0), 0, rounds, workers, {}},
      {load_kind::mixed, o.mixed, wait, 0, std::max<std::size_t>(1, rounds / 4), workers, {}},
  };
  std::vector<result> results;
  {
    progress_line progress("brigade compare");
    for (const load_plan& p : plans) {
      for (exec_model m : all_exec_models) {
        progress.show(load_name(p.kind) + ", " + exec_model_name(m, workers));
        load_plan plan = p;
        if (p.kind == load_kind::cpu && m == exec_model::async_pool) plan.trace_path = o.trace;
        results.push_back(run_one(plan, m));
      }
    }
  }
  bool all_ok = true;
  for (const result& r : results) all_ok = all_ok && r.ok;
  if (o.json) {
    print_json(results, o.job_us);
  } else {
    std::printf("One workload, four models, on %u hardware threads; each run in a fresh process.\n",
                std::thread::hardware_concurrency());
    for (const load_plan& p : plans) {
      std::printf("\n%s: %s\n  %s\n\n", load_name(p.kind).c_str(), plan_text(p).c_str(),
                  claim_of(p.kind).c_str());
      std::vector<column> columns;
      for (const std::string& h : header)
        columns.push_back({h, columns.empty() ? align::left : align::right});
      text_table t(columns);
      for (const result& r : results) {
        if (r.plan.kind == p.kind) t.add_row(row_of(r));
      }
      t.print(stdout);
    }
  }
  if (!o.html.empty()) {
    write_report(results, o);
    std::fprintf(o.json ? stderr : stdout, "\nreport: %s\n", o.html.c_str());
  }
  return all_ok ? 0 : 1;
}

const char* compare_usage() noexcept {
  return "usage: brigade compare [--io N] [--requests N] [--cpu N] [--mixed N] [--workers W]\n"
         "                       [--wait-ms MS] [--job-us US] [--html FILE] [--trace FILE]\n"
         "                       [--json]\n"
         "\n"
         "  Runs one workload in four models (synchronous; async on one thread; one OS\n"
         "  thread per job; async on the work-stealing pool) for an I/O-bound load (timer\n"
         "  waits and loopback TCP requests to an in-process server), a CPU-bound load\n"
         "  (hashing) and a mixed load, each in a fresh process.\n"
         "\n"
         "  --io N        timer waits of the I/O-bound load (default 1000)\n"
         "  --requests N  TCP request/response exchanges of the I/O-bound load, with a\n"
         "                server on 127.0.0.1 that answers after the wait (default 200)\n"
         "  --cpu N       hash jobs of the CPU-bound load (default 200)\n"
         "  --mixed N     jobs of the mixed load: a wait then a quarter job (default 400)\n"
         "  --wait-ms MS  length of each wait, and the server's delay (default 1)\n"
         "  --job-us US   CPU time of one hash job on this machine (default 2000)\n"
         "  --workers W   threads of the pool (default: one per hardware thread)\n"
         "  --html FILE   write a self-contained HTML report (bar charts, timelines)\n"
         "  --trace FILE  write the runtime trace of the pool's CPU-bound run as Chrome\n"
         "                trace-event JSON (open it in Perfetto or chrome://tracing)\n"
         "  --json        print the figures as JSON on stdout instead of the tables\n";
}

}  // namespace brigade::app
