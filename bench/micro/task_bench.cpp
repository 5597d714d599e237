// Micro benchmarks of the task core: spawn + join, yield_now, await chains,
// when_all. PERFORMANCE.md rows: "spawn + join 1,000,000 empty tasks" (warm
// and first round), "yield_now", and the cost of one resume behind them.
//
// Every timed loop runs inside one task (`rt.block_on(loop(state))`), so the
// figures exclude block_on. Per-item counters are wall time (bench_util.hpp).
// multi_thread variants skip with an error while that flavor is unavailable.

#include "bench_util.hpp"

#include "workloads.hpp"

#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/when.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

namespace bg = brigade;
using brigade::bench::item_timer;

namespace {

constexpr std::size_t mt_workers = 2;

/// The runtime for a benchmark, or nullptr after SkipWithError.
std::unique_ptr<bg::runtime> runtime_or_skip(benchmark::State& state, bg::flavor f) {
  std::string why;
  auto rt = bg::bench::try_make_runtime(f, f == bg::flavor::multi_thread ? mt_workers : 0, why);
  if (!rt) state.SkipWithError((std::string(bg::bench::flavor_name(f)) + ": " + why).c_str());
  return rt;
}

// ---- spawn + join ---------------------------------------------------------

bg::task<> spawn_join_loop(benchmark::State& state, std::size_t n) {
  bg::bench::handle_vector handles;
  handles.resize(n);
  item_timer timer;
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) handles[i] = bg::spawn(bg::bench::empty_task());
    for (bg::join_handle<void>& h : handles) co_await h;
  }
  timer.report(state, "ns_per_task", static_cast<double>(n));
}

/// Warm: frames recycled from earlier iterations (the frame cache keeps up
/// to 128 MiB of blocks per thread; beyond that, malloc).
void BM_spawn_join(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  const auto n = static_cast<std::size_t>(state.range(0));
  rt->block_on(spawn_join_loop(state, n));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK_CAPTURE(BM_spawn_join, current_thread, bg::flavor::current_thread)
    ->Arg(1024)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_spawn_join, current_thread, bg::flavor::current_thread)
    ->Arg(1'000'000)
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_spawn_join, multi_thread, bg::flavor::multi_thread)->Arg(1024)->UseRealTime();
BENCHMARK_CAPTURE(BM_spawn_join, multi_thread, bg::flavor::multi_thread)
    ->Arg(1'000'000)
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// Cold: the first round in a fresh process (fresh pages, empty frame
/// cache), one child process per iteration. Time is the child's own.
void BM_spawn_join_first_round(benchmark::State& state, bg::flavor f) {
  const std::string n = std::to_string(state.range(0));
  const std::string workers = f == bg::flavor::multi_thread ? std::to_string(mt_workers) : "0";
  double ns_total = 0;
  for (auto _ : state) {
    const auto r =
        bg::bench::run_child({"spawn-join-first", bg::bench::flavor_name(f), workers, n});
    if (!r.ok) {
      state.SkipWithError(r.error.c_str());
      return;
    }
    state.SetIterationTime(r.get("ns_total") * 1e-9);
    ns_total += r.get("ns_total");
  }
  state.counters["ns_per_task"] =
      ns_total / static_cast<double>(state.iterations() * state.range(0));
}
BENCHMARK_CAPTURE(BM_spawn_join_first_round, current_thread, bg::flavor::current_thread)
    ->Arg(1'000'000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_spawn_join_first_round, multi_thread, bg::flavor::multi_thread)
    ->Arg(1'000'000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---- yield_now ------------------------------------------------------------

bg::task<> yield_loop(benchmark::State& state) {
  item_timer timer;
  for (auto _ : state) co_await bg::yield_now();
  timer.report(state, "ns_per_yield", 1);
}

void BM_yield(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(yield_loop(state));
}
BENCHMARK_CAPTURE(BM_yield, current_thread, bg::flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(BM_yield, multi_thread, bg::flavor::multi_thread)->UseRealTime();

bg::task<> yield_partner(const bool& stop, std::uint64_t& yields) {
  while (!stop) {
    co_await bg::yield_now();
    ++yields;
  }
}

/// Two tasks yielding to each other in turn (current_thread: the FIFO run
/// queue alternates them). Counts the yields of both.
bg::task<> yield_pair_loop(benchmark::State& state) {
  bool stop = false;
  std::uint64_t partner_yields = 0;
  bg::join_handle<void> partner = bg::spawn(yield_partner(stop, partner_yields));
  item_timer timer;
  for (auto _ : state) co_await bg::yield_now();
  timer.report_total(state, "ns_per_yield",
                     static_cast<double>(state.iterations() + partner_yields));
  stop = true;
  co_await partner;
}

void BM_yield_two_tasks(benchmark::State& state) {
  auto rt = runtime_or_skip(state, bg::flavor::current_thread);
  if (!rt) return;
  rt->block_on(yield_pair_loop(state));
}
BENCHMARK(BM_yield_two_tasks)->UseRealTime();

// ---- await chain, when_all -----------------------------------------------

bg::task<> chain_loop(benchmark::State& state, std::size_t n) {
  item_timer timer;
  for (auto _ : state) {
    std::size_t v = co_await bg::bench::chain_depth(n);
    benchmark::DoNotOptimize(v);
  }
  timer.report(state, "ns_per_level", static_cast<double>(n));
}

/// A task awaiting a task awaiting ... n levels: one frame allocation, one
/// resume and one symmetric transfer back per level.
void BM_await_chain(benchmark::State& state) {
  auto rt = runtime_or_skip(state, bg::flavor::current_thread);
  if (!rt) return;
  rt->block_on(chain_loop(state, static_cast<std::size_t>(state.range(0))));
}
BENCHMARK(BM_await_chain)->Arg(1000)->UseRealTime();

bg::task<int> one() { co_return 1; }

bg::task<> when_all_loop(benchmark::State& state) {
  item_timer timer;
  for (auto _ : state) {
    auto [a, b] = co_await bg::when_all(one(), one());
    benchmark::DoNotOptimize(a + b);
  }
  timer.report(state, "ns_per_when_all", 1);
}

void BM_when_all_2(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(when_all_loop(state));
}
BENCHMARK_CAPTURE(BM_when_all_2, current_thread, bg::flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(BM_when_all_2, multi_thread, bg::flavor::multi_thread)->UseRealTime();

}  // namespace
