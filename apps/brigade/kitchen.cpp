// `brigade kitchen` (see kitchen.hpp).

#include "kitchen.hpp"

#include "args.hpp"
#include "forked_child.hpp"
#include "html_report.hpp"
#include "kitchen_scenarios.hpp"
#include "progress.hpp"
#include "table.hpp"

#include <cstdio>
#include <sstream>
#include <vector>

namespace brigade::app {

namespace {

struct run_result {
  kitchen_scenario scenario = kitchen_scenario::eggs_and_toast;
  kitchen_model model = kitchen_model::synchronous;
  bool ok = false;
  std::string error;
  run_meter::figures figures;
  std::string timeline_json;
};

/// One run in a fresh child: "wall cpu rss threads\n" then the timeline.
run_result run_one(kitchen_scenario s, kitchen_model m, const kitchen_plan& plan) {
  run_result r{s, m, false, {}, {}, {}};
  const child_text_outcome c = run_in_child_text([&] {
    const kitchen_run k = run_kitchen(s, m, plan);
    std::ostringstream out;
    out.precision(17);
    out << ' ' << k.figures.wall_ns << ' ' << k.figures.cpu_ns << ' ' << k.figures.peak_rss_growth
        << ' ' << k.figures.threads << '\n'
        << k.trace.to_json();
    return out.str();
  });
  if (!c.ok) {
    r.error = c.error;
    return r;
  }
  std::istringstream in(c.text);
  in >> r.figures.wall_ns >> r.figures.cpu_ns >> r.figures.peak_rss_growth >> r.figures.threads;
  std::string rest;
  std::getline(in, rest);  // the end of the numbers line
  r.timeline_json.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  r.ok = !in.bad() && !r.timeline_json.empty();
  if (!r.ok) r.error = "the child's report was malformed";
  return r;
}

std::string minutes_text(double m) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f min", m);
  return buf;
}

std::string json_number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v == v ? v : 0.0);
  return buf;
}

std::vector<std::string> row_of(const run_result& r, const kitchen_plan& plan, double minute_ns) {
  if (!r.ok) return {model_name(r.model, plan), "failed: " + r.error};
  return {model_name(r.model, plan),
          format_duration_ns(r.figures.wall_ns),
          minutes_text(r.figures.wall_ns / minute_ns),
          format_duration_ns(r.figures.cpu_ns),
          std::to_string(static_cast<long long>(r.figures.threads)),
          format_bytes(r.figures.peak_rss_growth)};
}

const std::vector<std::string> header = {"model",    "wall time", "in story minutes",
                                         "CPU time", "threads",   "peak memory (RSS growth)"};

std::string scenario_text(kitchen_scenario s) {
  const scenario_minutes m = minutes_of(s);
  std::string story;
  switch (s) {
    case kitchen_scenario::eggs_and_toast:
      story =
          "Two eggs, 3 minutes each in the one pan (a brigade::mutex), toast 4 minutes, and 6 "
          "chores of 0.4 minutes of work to clean the kitchen, one per minute.";
      break;
    case kitchen_scenario::dinner:
      story =
          "The friend buys pasta (8 minutes: a task you spawn and await) while you make the "
          "sauce (1 minute chopping, 6 simmering) and drinks (1 minute); then the pasta boils "
          "(4 minutes).";
      break;
    case kitchen_scenario::theatre:
      story =
          "The queue at the counter takes 5 minutes; 4 selfies of 0.5 minutes are taken "
          "while waiting.";
      break;
  }
  return story + " One thing after another: " + minutes_text(m.one_after_another) +
         "; overlapping the waits: " + minutes_text(m.overlapped) + ".";
}

void print_json(const std::vector<run_result>& runs, const kitchen_options& o,
                const kitchen_plan& plan) {
  const double minute_ns = static_cast<double>(plan.minute.count());
  std::printf("{\"command\":\"kitchen\",\"scale_ms_per_minute\":%zu,\"cooks\":%zu,\"scenarios\":[",
              o.scale_ms, o.cooks);
  bool first_scenario = true;
  for (kitchen_scenario s : all_kitchen_scenarios) {
    const scenario_minutes m = minutes_of(s);
    std::printf(
        "%s{\"key\":%s,\"name\":%s,\"one_after_another_min\":%s,\"overlapped_min\":%s,"
        "\"work_min\":%s,\"runs\":[",
        first_scenario ? "" : ",", json_string(scenario_key(s)).c_str(),
        json_string(scenario_name(s)).c_str(), json_number(m.one_after_another).c_str(),
        json_number(m.overlapped).c_str(), json_number(m.work).c_str());
    first_scenario = false;
    bool first_run = true;
    for (const run_result& r : runs) {
      if (r.scenario != s) continue;
      std::printf(
          "%s{\"model\":%s,\"name\":%s,\"ok\":%s,\"error\":%s,\"wall_ms\":%s,"
          "\"wall_min\":%s,\"cpu_ms\":%s,\"threads\":%s,\"peak_rss_growth_bytes\":%s}",
          first_run ? "" : ",", json_string(model_key(r.model)).c_str(),
          json_string(model_name(r.model, plan)).c_str(), r.ok ? "true" : "false",
          json_string(r.error).c_str(), json_number(r.figures.wall_ns / 1e6).c_str(),
          json_number(r.figures.wall_ns / minute_ns).c_str(),
          json_number(r.figures.cpu_ns / 1e6).c_str(), json_number(r.figures.threads).c_str(),
          json_number(r.figures.peak_rss_growth).c_str());
      first_run = false;
    }
    std::printf("]}");
  }
  std::printf("]}\n");
}

}  // namespace

bool parse_kitchen_args(std::span<const std::string_view> args, kitchen_options& options) {
  const size_option sizes[] = {{"--scale", &options.scale_ms, 1, 1000},
                               {"--cooks", &options.cooks, 1, 64}};
  const flag_option flags[] = {{"--json", &options.json}};
  const text_option texts[] = {{"--html", &options.html}};
  return parse_options(args, option_set{sizes, flags, texts}) == parse_outcome::run;
}

int run_kitchen_command(const kitchen_options& o) {
  const kitchen_plan plan{std::chrono::milliseconds(o.scale_ms), o.cooks};
  const double minute_ns = static_cast<double>(plan.minute.count());
  std::vector<run_result> runs;
  {
    progress_line progress("brigade kitchen");
    for (kitchen_scenario s : all_kitchen_scenarios) {
      for (kitchen_model m : all_kitchen_models) {
        progress.show(scenario_name(s) + ", " + model_name(m, plan));
        runs.push_back(run_one(s, m, plan));
      }
    }
  }
  bool all_ok = true;
  for (const run_result& r : runs) all_ok = all_ok && r.ok;
  if (o.json) {
    print_json(runs, o, plan);
  } else {
    std::printf(
        "The kitchen, for real: a story minute is %zu ms; waits are timers, work is busy "
        "computing.\n",
        o.scale_ms);
    for (kitchen_scenario s : all_kitchen_scenarios) {
      std::printf("\n%s\n  %s\n\n", scenario_name(s).c_str(), scenario_text(s).c_str());
      std::vector<column> columns;
      for (const std::string& h : header) {
        columns.push_back({h, columns.empty() ? align::left : align::right});
      }
      text_table t(columns);
      for (const run_result& r : runs) {
        if (r.scenario == s) t.add_row(row_of(r, plan, minute_ns));
      }
      t.print(stdout);
    }
  }
  if (!o.html.empty()) {
    std::vector<html_section> sections;
    for (kitchen_scenario s : all_kitchen_scenarios) {
      html_section section{scenario_name(s), scenario_text(s), {}, {}, {}};
      html_table table{header, {}};
      html_bar_chart chart{"wall time", "ms", {}};
      for (const run_result& r : runs) {
        if (r.scenario != s) continue;
        table.rows.push_back(row_of(r, plan, minute_ns));
        if (!r.ok) continue;
        chart.bars.emplace_back(model_name(r.model, plan), r.figures.wall_ns / 1e6);
        section.timelines.push_back(r.timeline_json);
      }
      section.tables.push_back(std::move(table));
      section.charts.push_back(std::move(chart));
      sections.push_back(std::move(section));
    }
    write_html_report(o.html, "brigade kitchen",
                      "Each scenario of the kitchen analogy in three models: synchronous (one "
                      "thing at a time, waits block the thread), asynchronous on one thread, and "
                      "asynchronous with several cooks. A story minute is " +
                          std::to_string(o.scale_ms) + " ms.",
                      sections);
    std::fprintf(o.json ? stderr : stdout, "\nreport: %s\n", o.html.c_str());
  }
  return all_ok ? 0 : 1;
}

const char* kitchen_usage() noexcept {
  return "usage: brigade kitchen [--scale MS] [--cooks N] [--html FILE] [--json]\n"
         "\n"
         "  Runs the kitchen analogy for real: eggs and toast, dinner with a friend and the\n"
         "  theatre queue, each synchronously, asynchronously on one thread, and\n"
         "  asynchronously with several cooks (a multi_thread runtime); waits are timers,\n"
         "  work is CPU. Each run happens in a fresh child process.\n"
         "\n"
         "  --scale MS    real milliseconds per story minute (1..1000, default 10)\n"
         "  --cooks N     workers of the multi-threaded model (1..64, default 2)\n"
         "  --html FILE   write a self-contained HTML report with a timeline per run\n"
         "  --json        print the figures as JSON on stdout instead of the tables\n";
}

}  // namespace brigade::app
