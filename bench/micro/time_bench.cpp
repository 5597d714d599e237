// Timers: the cost of registering and cancelling one timer, and the
// million-sleeps benchmark of PERFORMANCE.md (1,000,000 tasks each sleeping a
// random 0-100 ms, awaited together: wall time and peak RSS, measured in a
// fresh child process so RSS counts only this run).

#include "bench_util.hpp"

#include <brigade/detail/timer_entry.hpp>
#include <brigade/runtime.hpp>
#include <brigade/time/sleep.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace brigade::bench {

namespace {

using namespace std::chrono_literals;

// Insert + cancel of a timer entry on the current runtime's wheel, from a
// task (the path a cancelled sleep or a timeout that did not fire takes).
void BM_TimerInsertCancel(benchmark::State& state) {
  runtime rt{runtime_options{.flavor = flavor::current_thread}};
  rt.block_on([](benchmark::State* st) -> task<> {
    detail::time_driver& d = detail::current_time_driver();
    detail::task_header* me = detail::current_task();
    detail::timer_entry e;
    std::uint64_t i = 0;
    const auto base = brigade::now();
    item_timer timer;
    for (auto _ : *st) {
      // Spread deadlines over every wheel level.
      const auto deadline = base + std::chrono::milliseconds(1 + (i++ * 7919) % 3'600'000);
      detail::timer_register(d, e, me, deadline);
      detail::timer_cancel(d, e);
    }
    timer.report(*st, "ns_per_insert_cancel", 1.0);
    co_return;
  }(&state));
}
BENCHMARK(BM_TimerInsertCancel)->UseRealTime();

// The child side of BM_MillionSleeps: prints wall_ms and peak_rss_mb.
task<> sleep_random(std::chrono::milliseconds d) { co_await brigade::sleep(d); }

task<> sleep_all(std::size_t n) {
  std::mt19937 rng(42);
  std::vector<join_handle<void>> hs;
  hs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    hs.push_back(spawn(sleep_random(std::chrono::milliseconds(rng() % 101))));
  }
  for (auto& h : hs) co_await h;
}

void BM_MillionSleeps(benchmark::State& state) {
  const std::string flavor = state.range(0) == 0 ? "current_thread" : "multi_thread";
  for (auto _ : state) {
    const child_report r = run_child({"million-sleeps", flavor, "1000000"});
    if (!r.ok) {
      state.SkipWithError(r.error.c_str());
      return;
    }
    set_counters(state, r, {"wall_ms", "peak_rss_mb"});
  }
}
BENCHMARK(BM_MillionSleeps)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int million_sleeps(const char* flavor_text, std::size_t n) {
  const bool multi = std::string(flavor_text) == "multi_thread";
  runtime rt{runtime_options{.flavor = multi ? flavor::multi_thread : flavor::current_thread,
                             .worker_threads = 2}};
  const auto t0 = std::chrono::steady_clock::now();
  rt.block_on(sleep_all(n));
  const auto wall = std::chrono::steady_clock::now() - t0;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("wall_ms=%.3f\n", std::chrono::duration<double, std::milli>(wall).count());
  std::printf("peak_rss_mb=%.3f\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
  return 0;
}

}  // namespace brigade::bench
