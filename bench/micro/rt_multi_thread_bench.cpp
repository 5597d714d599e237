// Micro benchmarks of the multi_thread scheduler, in the shapes of Tokio's
// own benches/rt_multi_threaded.rs (read there, written here), on 2 workers:
//
//   BM_mt_spawn_many_local         10,000 tasks spawned from one task; the
//                                  last to finish wakes the spawner
//   BM_mt_spawn_many_remote_idle   10,000 tasks spawned from the benchmark
//                                  thread (outside the runtime), then joined
//   BM_mt_spawn_many_remote_busy   the same while 2 tasks per worker keep
//                                  every worker busy yielding
//   BM_mt_yield_many               200 tasks each yielding 1,000 times
//   BM_mt_ping_pong                1,000 pairs of tasks, each pair a round
//                                  trip over two oneshots (spread over the
//                                  workers by stealing)
//   BM_mt_chained_spawn            a chain of 1,000 tasks, each spawning the
//                                  next
//
// Each iteration is one round of the shape (as one Criterion `b.iter` in
// Tokio's). Counters are wall ns per item (bench_util.hpp): ns_per_task,
// ns_per_yield, ns_per_round_trip. "Last one done" is an atomic count-down
// plus a brigade::notify, as Tokio's benches use a counter and a channel.

#include "bench_util.hpp"

#include "workloads.hpp"

#include <brigade/channel/oneshot.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/sync/notify.hpp>
#include <brigade/task.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;
using brigade::bench::item_timer;

namespace {

constexpr std::size_t workers = 2;
constexpr std::size_t num_spawn = 10'000;
constexpr std::size_t yield_tasks = 200;
constexpr std::size_t num_yield = 1'000;
constexpr std::size_t num_pings = 1'000;
constexpr std::size_t chain_length = 1'000;

std::unique_ptr<bg::runtime> runtime_or_skip(benchmark::State& state) {
  std::string why;
  auto rt = bg::bench::try_make_runtime(bg::flavor::multi_thread, workers, why);
  if (!rt) state.SkipWithError(("multi_thread: " + why).c_str());
  return rt;
}

/// Counts finished tasks down; the one that reaches zero wakes the waiter.
struct countdown {
  std::atomic<std::size_t> remaining{0};
  bg::notify done;

  void arm(std::size_t n) { remaining.store(n, std::memory_order_relaxed); }
  void finish_one() {
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) done.notify_one();
  }
};

bg::task<> count_down(countdown& c) {
  c.finish_one();
  co_return;
}

// ---- spawn many from one task ------------------------------------------------

bg::task<> spawn_many_local_loop(benchmark::State& state) {
  countdown c;
  item_timer timer;
  for (auto _ : state) {
    c.arm(num_spawn);
    for (std::size_t i = 0; i < num_spawn; ++i) bg::spawn(count_down(c)).detach();
    co_await c.done.notified();
  }
  timer.report(state, "ns_per_task", static_cast<double>(num_spawn));
}

void BM_mt_spawn_many_local(benchmark::State& state) {
  auto rt = runtime_or_skip(state);
  if (!rt) return;
  rt->block_on(spawn_many_local_loop(state));
}
BENCHMARK(BM_mt_spawn_many_local)->UseRealTime();

// ---- spawn many from outside the runtime --------------------------------------

bg::task<> join_all(bg::bench::handle_vector& handles) {
  for (bg::join_handle<void>& h : handles) co_await h;
}

/// The benchmark thread spawns through the runtime (the inject queue), then
/// joins every handle in one block_on.
void spawn_many_remote(benchmark::State& state, bg::runtime& rt) {
  bg::bench::handle_vector handles(num_spawn);
  item_timer timer;
  for (auto _ : state) {
    for (std::size_t i = 0; i < num_spawn; ++i) handles[i] = rt.spawn(bg::bench::empty_task());
    rt.block_on(join_all(handles));
  }
  timer.report(state, "ns_per_task", static_cast<double>(num_spawn));
}

void BM_mt_spawn_many_remote_idle(benchmark::State& state) {
  auto rt = runtime_or_skip(state);
  if (!rt) return;
  spawn_many_remote(state, *rt);
}
BENCHMARK(BM_mt_spawn_many_remote_idle)->UseRealTime();

bg::task<> busy_yielder(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) co_await bg::yield_now();
}

void BM_mt_spawn_many_remote_busy(benchmark::State& state) {
  auto rt = runtime_or_skip(state);
  if (!rt) return;
  std::atomic<bool> stop{false};
  bg::bench::handle_vector busy;
  for (std::size_t i = 0; i < 2 * workers; ++i) busy.push_back(rt->spawn(busy_yielder(stop)));
  spawn_many_remote(state, *rt);
  stop.store(true, std::memory_order_relaxed);
  rt->block_on(join_all(busy));
}
BENCHMARK(BM_mt_spawn_many_remote_busy)->UseRealTime();

// ---- yield many ------------------------------------------------------------------

bg::task<> yield_then_count(countdown& c) {
  for (std::size_t i = 0; i < num_yield; ++i) co_await bg::yield_now();
  c.finish_one();
}

bg::task<> yield_many_loop(benchmark::State& state) {
  countdown c;
  item_timer timer;
  for (auto _ : state) {
    c.arm(yield_tasks);
    for (std::size_t i = 0; i < yield_tasks; ++i) bg::spawn(yield_then_count(c)).detach();
    co_await c.done.notified();
  }
  timer.report(state, "ns_per_yield", static_cast<double>(yield_tasks * num_yield));
}

void BM_mt_yield_many(benchmark::State& state) {
  auto rt = runtime_or_skip(state);
  if (!rt) return;
  rt->block_on(yield_many_loop(state));
}
BENCHMARK(BM_mt_yield_many)->UseRealTime();

// ---- ping-pong ---------------------------------------------------------------------

bg::task<> pong(ch::oneshot_receiver<int> rx, ch::oneshot_sender<int> tx) {
  const int v = co_await rx;
  tx.send(v + 1);
}

/// One pair: spawns its partner, sends it a ping, awaits the pong.
bg::task<> ping(countdown& c) {
  auto [to_pong, pong_rx] = ch::oneshot<int>();
  auto [to_ping, ping_rx] = ch::oneshot<int>();
  bg::spawn(pong(std::move(pong_rx), std::move(to_ping))).detach();
  to_pong.send(1);
  const int v = co_await ping_rx;
  benchmark::DoNotOptimize(v);
  c.finish_one();
}

bg::task<> spawn_pings(countdown& c) {
  for (std::size_t i = 0; i < num_pings; ++i) bg::spawn(ping(c)).detach();
  co_return;
}

bg::task<> ping_pong_loop(benchmark::State& state) {
  countdown c;
  item_timer timer;
  for (auto _ : state) {
    c.arm(num_pings);
    // From a spawned task, as Tokio's: the pairs start on whichever worker
    // runs it and spread by stealing.
    bg::spawn(spawn_pings(c)).detach();
    co_await c.done.notified();
  }
  timer.report(state, "ns_per_round_trip", static_cast<double>(num_pings));
}

void BM_mt_ping_pong(benchmark::State& state) {
  auto rt = runtime_or_skip(state);
  if (!rt) return;
  rt->block_on(ping_pong_loop(state));
}
BENCHMARK(BM_mt_ping_pong)->UseRealTime();

// ---- chained spawn ---------------------------------------------------------------

bg::task<> chain(countdown& c, std::size_t n) {
  if (n == 0) {
    c.finish_one();
    co_return;
  }
  bg::spawn(chain(c, n - 1)).detach();
}

bg::task<> chained_spawn_loop(benchmark::State& state) {
  countdown c;
  item_timer timer;
  for (auto _ : state) {
    c.arm(1);
    bg::spawn(chain(c, chain_length)).detach();
    co_await c.done.notified();
  }
  timer.report(state, "ns_per_task", static_cast<double>(chain_length + 1));
}

void BM_mt_chained_spawn(benchmark::State& state) {
  auto rt = runtime_or_skip(state);
  if (!rt) return;
  rt->block_on(chained_spawn_loop(state));
}
BENCHMARK(BM_mt_chained_spawn)->UseRealTime();

}  // namespace
