// The reference point for task costs: OS threads, measured in the same
// binary and run so that ratios are taken under the same noise.
// PERFORMANCE.md row: "std::thread create + join, µs".

#include "bench_util.hpp"

#include <benchmark/benchmark.h>

#include <thread>

namespace {

using brigade::bench::item_timer;

/// Create + join of a thread running an empty function: clone, the new
/// thread's first scheduling, its exit and the futex wake of the joiner.
/// glibc reuses cached stacks of joined threads, so this is the warm cost.
void BM_thread_create_join(benchmark::State& state) {
  item_timer timer;
  for (auto _ : state) {
    std::thread t([] {});
    t.join();
  }
  timer.report(state, "us_per_thread", 1, 1000.0);
}
BENCHMARK(BM_thread_create_join)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
