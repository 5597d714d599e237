// Micro benchmarks of brigade/sync: the uncontended mutex fast path from a
// task (PERFORMANCE / issue 6 target: lock + unlock <= 20 ns), the mutex
// contended by N tasks, the semaphore and notify round trips.
//
// Every timed loop runs inside one task (`rt.block_on(loop(state))`), so the
// figures exclude block_on. Per-item counters are wall time (bench_util.hpp).

#include "bench_util.hpp"

#include "workloads.hpp"

#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/sync/mutex.hpp>
#include <brigade/sync/notify.hpp>
#include <brigade/sync/semaphore.hpp>
#include <brigade/task.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bg = brigade;
using brigade::bench::item_timer;

namespace {

constexpr std::size_t mt_workers = 2;

std::unique_ptr<bg::runtime> runtime_or_skip(benchmark::State& state, bg::flavor f) {
  std::string why;
  auto rt = bg::bench::try_make_runtime(f, f == bg::flavor::multi_thread ? mt_workers : 0, why);
  if (!rt) state.SkipWithError((std::string(bg::bench::flavor_name(f)) + ": " + why).c_str());
  return rt;
}

// ---- uncontended mutex ------------------------------------------------------

constexpr int ops_per_iteration = 1000;

bg::task<> mutex_uncontended_loop(benchmark::State& state) {
  bg::mutex m;
  long counter = 0;
  item_timer timer;
  for (auto _ : state) {
    for (int i = 0; i < ops_per_iteration; ++i) {
      auto g = co_await m.lock();
      ++counter;
    }
  }
  benchmark::DoNotOptimize(counter);
  timer.report(state, "ns_per_lock_unlock", ops_per_iteration);
}

/// lock + unlock from a task, nobody else wants the lock: one CAS each way,
/// plus one cooperative-budget yield every 128 locks.
void BM_mutex_uncontended(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(mutex_uncontended_loop(state));
  state.SetItemsProcessed(state.iterations() * ops_per_iteration);
}
BENCHMARK_CAPTURE(BM_mutex_uncontended, current_thread, bg::flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(BM_mutex_uncontended, multi_thread, bg::flavor::multi_thread)->UseRealTime();

bg::task<> try_lock_loop(benchmark::State& state) {
  bg::mutex m;
  long counter = 0;
  item_timer timer;
  for (auto _ : state) {
    for (int i = 0; i < ops_per_iteration; ++i) {
      auto g = m.try_lock();
      ++counter;
    }
  }
  benchmark::DoNotOptimize(counter);
  timer.report(state, "ns_per_lock_unlock", ops_per_iteration);
  co_return;
}

/// The same without the awaitable: try_lock + unlock (the floor).
void BM_mutex_try_lock(benchmark::State& state) {
  auto rt = runtime_or_skip(state, bg::flavor::current_thread);
  if (!rt) return;
  rt->block_on(try_lock_loop(state));
  state.SetItemsProcessed(state.iterations() * ops_per_iteration);
}
BENCHMARK(BM_mutex_try_lock)->UseRealTime();

// ---- contended mutex --------------------------------------------------------

bg::task<> contender(bg::mutex& m, long& counter, int n) {
  for (int i = 0; i < n; ++i) {
    auto g = co_await m.lock();
    ++counter;
    if ((i & 7) == 0) co_await bg::yield_now();  // hold it across a switch now and then
  }
}

bg::task<> mutex_contended_loop(benchmark::State& state, int tasks) {
  bg::mutex m;
  long counter = 0;
  constexpr int per_task = 1000;
  std::vector<bg::join_handle<void>> hs;
  item_timer timer;
  for (auto _ : state) {
    hs.clear();
    for (int t = 0; t < tasks; ++t) hs.push_back(bg::spawn(contender(m, counter, per_task)));
    for (auto& h : hs) co_await h;
  }
  benchmark::DoNotOptimize(counter);
  timer.report(state, "ns_per_lock_unlock", static_cast<double>(tasks) * per_task);
}

/// N tasks take turns on one mutex (FIFO hand-over), each holding it across
/// a yield every 8th time so that waiters really queue.
void BM_mutex_contended(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(mutex_contended_loop(state, static_cast<int>(state.range(0))));
}
BENCHMARK_CAPTURE(BM_mutex_contended, current_thread, bg::flavor::current_thread)
    ->Arg(2)
    ->Arg(8)
    ->Arg(64)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_mutex_contended, multi_thread, bg::flavor::multi_thread)
    ->Arg(2)
    ->Arg(8)
    ->Arg(64)
    ->UseRealTime();

// ---- semaphore and notify ---------------------------------------------------

bg::task<> semaphore_loop(benchmark::State& state) {
  bg::semaphore s{4};
  item_timer timer;
  for (auto _ : state) {
    for (int i = 0; i < ops_per_iteration; ++i) {
      auto p = co_await s.acquire();
    }
  }
  timer.report(state, "ns_per_acquire_release", ops_per_iteration);
}

void BM_semaphore_uncontended(benchmark::State& state) {
  auto rt = runtime_or_skip(state, bg::flavor::current_thread);
  if (!rt) return;
  rt->block_on(semaphore_loop(state));
}
BENCHMARK(BM_semaphore_uncontended)->UseRealTime();

bg::task<> notify_echo(bg::notify& in, bg::notify& out, const bool& stop) {
  for (;;) {
    co_await in.notified();
    if (stop) co_return;
    out.notify_one();
  }
}

bg::task<> notify_ping_pong_loop(benchmark::State& state) {
  bg::notify ping;
  bg::notify pong;
  bool stop = false;
  auto echo = bg::spawn(notify_echo(ping, pong, stop));
  item_timer timer;
  for (auto _ : state) {
    ping.notify_one();
    co_await pong.notified();
  }
  timer.report(state, "ns_per_round_trip", 1);
  stop = true;
  ping.notify_one();
  co_await echo;
}

/// Two tasks wake each other through two notify objects: the cost of a
/// wake + resume each way, without a channel's data movement.
void BM_notify_ping_pong(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(notify_ping_pong_loop(state));
}
BENCHMARK_CAPTURE(BM_notify_ping_pong, current_thread, bg::flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(BM_notify_ping_pong, multi_thread, bg::flavor::multi_thread)->UseRealTime();

}  // namespace
