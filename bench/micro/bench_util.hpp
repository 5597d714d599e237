#pragma once
// Helpers shared by the micro benchmarks.
//
// Per-item figures ("ns_per_task", "ns_per_yield") are computed from wall
// time here rather than with benchmark::Counter::kIsRate, because Google
// Benchmark 1.7 divides rate counters by the *CPU time of the benchmark
// thread*: meaningless when the work runs on multi_thread workers or in a
// child process while the benchmark thread waits.
//
// Child processes: the first round of spawn + join in a fresh process (cold
// pages, empty frame cache) and the memory figures (RSS is only honest when
// pages are touched for the first time) run in a child: the benchmark binary
// re-executes itself with `--brigade-child <mode> <args...>` and reads
// `key=value` lines from its stdout (see child_process.cpp).

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace brigade::bench {

/// Wall-clock time of a benchmark's timed loop, turned into a per-item
/// counter. Start it right before `for (auto _ : state)`.
class item_timer {
 public:
  item_timer() : start_(std::chrono::steady_clock::now()) {}

  double elapsed_ns() const {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - start_)
                                   .count());
  }

  /// Sets counters[name] = ns per item (or µs with unit_ns = 1000), given
  /// `items` per iteration.
  void report(benchmark::State& state, const char* name, double items, double unit_ns = 1.0) const {
    report_total(state, name, static_cast<double>(state.iterations()) * items, unit_ns);
  }

  /// Same, given the total number of items of the whole loop.
  void report_total(benchmark::State& state, const char* name, double total,
                    double unit_ns = 1.0) const {
    if (total > 0) state.counters[name] = elapsed_ns() / total / unit_ns;
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// What a child process reported.
struct child_report {
  bool ok = false;
  std::string error;  ///< when !ok: why
  std::map<std::string, double> values;

  double get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? 0.0 : it->second;
  }
};

/// Runs this executable again as `exe --brigade-child <args...>` and parses
/// the `key=value` lines it prints. A child that prints `error=<text>` or
/// exits non-zero yields ok = false.
child_report run_child(const std::vector<std::string>& args);

/// The child side: dispatches on argv (without the `--brigade-child` flag),
/// prints `key=value` lines, returns the exit code.
int child_main(int argc, char** argv);

/// Child mode "million-sleeps <flavor> <n>" (time_bench.cpp).
int million_sleeps(const char* flavor, std::size_t n);

/// Registers each child-measured value of `report` as a counter.
void set_counters(benchmark::State& state, const child_report& report,
                  const std::vector<std::string>& keys);

}  // namespace brigade::bench
