// Memory per waiting unit of work: an idle task vs a blocked OS thread.
// PERFORMANCE.md rows: "bytes per idle task waiting on a notify" (here: on a
// park_gate, see bench/support/park_gate.hpp, until brigade::notify exists)
// and "bytes per blocked OS thread".
//
// Each iteration runs in a fresh child process (RSS is only honest for pages
// touched for the first time; see bench_util.hpp). The benchmark's time is
// the child's whole run: read the counters, not the time.
//
//   heap_per_task     glibc bytes in use per task (frame block + malloc's
//                     chunk header + anything the runtime keeps per task)
//   rss_per_task      resident bytes per task
//   frame_size        the coroutine frame; block_size adds the 80-byte task
//                     header and rounds up to the 64-byte size class
//   kernel_per_thread KernelStack + PageTables + SUnreclaim delta (system-wide)
//   vm_per_thread     virtual size per thread (the stack reservation)

#include "bench_util.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using brigade::bench::child_report;
using brigade::bench::run_child;

void run_in_children(benchmark::State& state, const std::vector<std::string>& args,
                     const std::vector<std::string>& keys) {
  child_report last;
  for (auto _ : state) {
    last = run_child(args);
    if (!last.ok) {
      state.SkipWithError(last.error.c_str());
      return;
    }
  }
  brigade::bench::set_counters(state, last, keys);
}

void BM_idle_task_memory(benchmark::State& state, const char* kind) {
  run_in_children(state, {"idle-tasks", kind, std::to_string(state.range(0))},
                  {"heap_per_task", "rss_per_task", "frame_size", "block_size"});
}
BENCHMARK_CAPTURE(BM_idle_task_memory, parked, "parked")
    ->Arg(100'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_idle_task_memory, joining, "joining")
    ->Arg(100'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_blocked_thread_memory(benchmark::State& state) {
  run_in_children(state, {"blocked-threads", std::to_string(state.range(0))},
                  {"heap_per_thread", "rss_per_thread", "vm_per_thread", "kernel_per_thread"});
}
BENCHMARK(BM_blocked_thread_memory)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
