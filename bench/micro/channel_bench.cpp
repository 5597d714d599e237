// Micro benchmarks of brigade/channel. PERFORMANCE.md row: "ping-pong round
// trip between two tasks over a channel" (target <= 150 ns; Go 244, Tokio
// 267 oneshot on current_thread). Also mpsc throughput with 1 and N
// producers and broadcast fan-out.
//
// Every timed loop runs inside one task (`rt.block_on(loop(state))`), so the
// figures exclude block_on. Per-item counters are wall time (bench_util.hpp).

#include "bench_util.hpp"

#include "workloads.hpp"

#include <brigade/channel/broadcast.hpp>
#include <brigade/channel/mpsc.hpp>
#include <brigade/channel/oneshot.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;
using brigade::bench::item_timer;

namespace {

constexpr std::size_t mt_workers = 2;

std::unique_ptr<bg::runtime> runtime_or_skip(benchmark::State& state, bg::flavor f) {
  std::string why;
  auto rt = bg::bench::try_make_runtime(f, f == bg::flavor::multi_thread ? mt_workers : 0, why);
  if (!rt) state.SkipWithError((std::string(bg::bench::flavor_name(f)) + ": " + why).c_str());
  return rt;
}

// ---- ping-pong --------------------------------------------------------------

bg::task<> mpsc_echo(ch::mpsc_receiver<int> rx, ch::mpsc_sender<int> tx) {
  while (auto v = co_await rx.recv()) {
    if (!co_await tx.send(*v + 1)) co_return;
  }
}

bg::task<> mpsc_ping_pong_loop(benchmark::State& state) {
  auto [ping_tx, ping_rx] = ch::mpsc<int>(1);
  auto [pong_tx, pong_rx] = ch::mpsc<int>(1);
  auto echo = bg::spawn(mpsc_echo(std::move(ping_rx), std::move(pong_tx)));
  int v = 0;
  item_timer timer;
  for (auto _ : state) {
    (void)co_await ping_tx.send(v);
    v = *co_await pong_rx.recv();
  }
  timer.report(state, "ns_per_round_trip", 1);
  benchmark::DoNotOptimize(v);
  { auto gone = std::move(ping_tx); }
  co_await echo;
}

/// Two tasks bounce an int over two bounded mpsc channels: one round trip =
/// 2 sends, 2 receives, 2 wake-ups, 2 task switches.
void BM_mpsc_ping_pong(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(mpsc_ping_pong_loop(state));
}
BENCHMARK_CAPTURE(BM_mpsc_ping_pong, current_thread, bg::flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(BM_mpsc_ping_pong, multi_thread, bg::flavor::multi_thread)->UseRealTime();

struct request {
  int value;
  ch::oneshot_sender<int> reply;
};

bg::task<> oneshot_server(ch::mpsc_receiver<request> rx) {
  while (auto r = co_await rx.recv()) r->reply.send(r->value + 1);
}

bg::task<> oneshot_ping_pong_loop(benchmark::State& state) {
  auto [tx, rx] = ch::mpsc<request>(1);
  auto server = bg::spawn(oneshot_server(std::move(rx)));
  int v = 0;
  item_timer timer;
  for (auto _ : state) {
    auto [reply_tx, reply_rx] = ch::oneshot<int>();
    // A named request, not `send(request{...})`: g++ 12 bit-copies a braced
    // aggregate temporary inside a co_await operand and destroys both copies
    // (the reply sender would be dropped twice).
    request req{v, std::move(reply_tx)};
    (void)co_await tx.send(std::move(req));
    v = co_await reply_rx;
  }
  timer.report(state, "ns_per_round_trip", 1);
  benchmark::DoNotOptimize(v);
  { auto gone = std::move(tx); }
  co_await server;
}

/// Request / reply: the request travels on an mpsc, the reply on a fresh
/// oneshot per round (allocated each round, as in Tokio's oneshot
/// ping-pong).
void BM_oneshot_ping_pong(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(oneshot_ping_pong_loop(state));
}
BENCHMARK_CAPTURE(BM_oneshot_ping_pong, current_thread, bg::flavor::current_thread)->UseRealTime();
BENCHMARK_CAPTURE(BM_oneshot_ping_pong, multi_thread, bg::flavor::multi_thread)->UseRealTime();

// ---- mpsc throughput --------------------------------------------------------

constexpr int messages = 10000;

bg::task<> producer(ch::mpsc_sender<std::int64_t> tx, int n) {
  for (int i = 0; i < n; ++i) {
    if (!co_await tx.send(std::int64_t{i})) co_return;
  }
}

bg::task<> mpsc_throughput_loop(benchmark::State& state, int producers, std::size_t capacity) {
  item_timer timer;
  std::int64_t sum = 0;
  for (auto _ : state) {
    auto [tx, rx] =
        capacity == 0 ? ch::unbounded_mpsc<std::int64_t>() : ch::mpsc<std::int64_t>(capacity);
    for (int p = 0; p < producers; ++p) bg::spawn(producer(tx, messages / producers)).detach();
    { auto gone = std::move(tx); }
    while (auto v = co_await rx.recv()) sum += *v;
  }
  benchmark::DoNotOptimize(sum);
  timer.report(state, "ns_per_message", messages);
}

/// `producers` tasks send 10,000 messages in all to one receiving task;
/// capacity 0 means unbounded_mpsc.
void BM_mpsc_throughput(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(mpsc_throughput_loop(state, static_cast<int>(state.range(0)),
                                    static_cast<std::size_t>(state.range(1))));
  state.SetItemsProcessed(state.iterations() * messages);
}
BENCHMARK_CAPTURE(BM_mpsc_throughput, current_thread, bg::flavor::current_thread)
    ->Args({1, 128})
    ->Args({4, 128})
    ->Args({1, 0})
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_mpsc_throughput, multi_thread, bg::flavor::multi_thread)
    ->Args({1, 128})
    ->Args({4, 128})
    ->Args({1, 0})
    ->UseRealTime();

// ---- broadcast fan-out ------------------------------------------------------

bg::task<std::int64_t> follower(ch::broadcast_receiver<std::int64_t> rx) {
  std::int64_t sum = 0;
  for (;;) {
    auto r = co_await rx.recv();
    if (r.is_closed()) co_return sum;
    if (r.has_value()) sum += *r;
  }
}

bg::task<> broadcast_loop(benchmark::State& state, int receivers) {
  item_timer timer;
  for (auto _ : state) {
    auto [tx, rx] = ch::broadcast<std::int64_t>(1024);
    std::vector<bg::join_handle<std::int64_t>> hs;
    for (int r = 1; r < receivers; ++r) hs.push_back(bg::spawn(follower(tx.subscribe())));
    hs.push_back(bg::spawn(follower(std::move(rx))));
    for (int i = 0; i < messages; ++i) {
      tx.send(std::int64_t{i});
      if ((i & 63) == 0) co_await bg::yield_now();  // let the receivers keep up
    }
    { auto gone = std::move(tx); }
    for (auto& h : hs) benchmark::DoNotOptimize(co_await h);
  }
  timer.report(state, "ns_per_delivery", static_cast<double>(messages) * receivers);
}

/// One sender, N receiving tasks, 10,000 values: ns per (value, receiver).
void BM_broadcast_fan_out(benchmark::State& state, bg::flavor f) {
  auto rt = runtime_or_skip(state, f);
  if (!rt) return;
  rt->block_on(broadcast_loop(state, static_cast<int>(state.range(0))));
}
BENCHMARK_CAPTURE(BM_broadcast_fan_out, current_thread, bg::flavor::current_thread)
    ->Arg(1)
    ->Arg(8)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_broadcast_fan_out, multi_thread, bg::flavor::multi_thread)
    ->Arg(1)
    ->Arg(8)
    ->UseRealTime();

}  // namespace
