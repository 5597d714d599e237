// Standalone Asio (1.22, libasio-dev) with C++20 coroutines and its
// experimental channels: the same problems as brigade/brigade_peer.cpp.
//
//   asio_peer <case> [n]
//
// One io_context on this thread unless said otherwise ("asio" is Asio's
// current_thread); fib and mpsc run on a thread_pool of 2 ("asio-mt").
// Asio coroutines have no join handle: a spawned coroutine's completion
// handler is its join. Asio has no async mutex, so "mutex" is n/a.

#include "../common/peer_util.h"

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

using asio::awaitable;
using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;
constexpr auto no_throw = asio::experimental::as_tuple(use_awaitable);

const char* const peer = "asio";
const char* const peer_mt = "asio-mt";
constexpr int contenders = 4;

double per(long long start, long long end, long long n) {
  return static_cast<double>(end - start) / static_cast<double>(n);
}

awaitable<void> empty() { co_return; }

double spawn_join_round(asio::io_context& ctx, long long n) {
  long long joined = 0;
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) {
    asio::co_spawn(ctx, empty(), [&joined](std::exception_ptr) { ++joined; });
  }
  ctx.restart();
  ctx.run();
  const long long end = peer_now_ns();
  if (joined != n) std::fprintf(stderr, "spawn_join: %lld joined\n", joined);
  return per(start, end, n);
}

awaitable<void> yield_loop(long long n, double& out) {
  auto ex = co_await asio::this_coro::executor;
  for (long long i = 0; i < n / 10; ++i) co_await asio::post(ex, use_awaitable);
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) co_await asio::post(ex, use_awaitable);
  out = per(start, peer_now_ns(), n);
}

/// Asio's fork-join: the && operator spawns both operands on the executor
/// and resumes when both are done.
awaitable<std::int64_t> fib(int n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await (fib(n - 1) && fib(n - 2));
  co_return a + b;
}

awaitable<void> idle_task(asio::steady_timer& gate, long long& parked) {
  ++parked;
  co_await gate.async_wait(no_throw);
}

/// Each coroutine owns its timer (in its frame) and lends a pointer to it so
/// that main can cancel it at the end.
awaitable<void> timer_idle_task(std::vector<asio::steady_timer*>& timers) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
  timers.push_back(&t);
  co_await t.async_wait(no_throw);
}

using int_channel = asio::experimental::channel<void(asio::error_code, long long)>;

awaitable<void> pong(int_channel& in, int_channel& out) {
  for (;;) {
    auto [ec, v] = co_await in.async_receive(no_throw);
    if (ec) co_return;
    co_await out.async_send(asio::error_code{}, v, use_awaitable);
  }
}

awaitable<void> ping(int_channel& to_pong, int_channel& from_pong, long long n, double& out) {
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) {
    co_await to_pong.async_send(asio::error_code{}, i, use_awaitable);
    co_await from_pong.async_receive(use_awaitable);
  }
  out = per(start, peer_now_ns(), n);
  to_pong.close();
}

awaitable<void> sleeper(std::chrono::microseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_awaitable);
}

awaitable<void> echo_conn(asio::ip::tcp::socket s) {
  std::vector<char> buf(65536);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), no_throw);
    if (ec) co_return;
    auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n), no_throw);
    if (wec) co_return;
  }
}

awaitable<void> echo_server(unsigned short port) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::acceptor acceptor(ex, {asio::ip::make_address("127.0.0.1"), port});
  std::printf("listening\n");
  std::fflush(stdout);
  for (;;) {
    asio::ip::tcp::socket s = co_await acceptor.async_accept(use_awaitable);
    s.set_option(asio::ip::tcp::no_delay(true));
    asio::co_spawn(ex, echo_conn(std::move(s)), asio::detached);
  }
}

using mpsc_channel = asio::experimental::concurrent_channel<void(asio::error_code, long long)>;

awaitable<void> producer(mpsc_channel& ch, long long n_each) {
  for (long long i = 0; i < n_each; ++i)
    co_await ch.async_send(asio::error_code{}, i, use_awaitable);
}

awaitable<void> consumer(mpsc_channel& ch, long long total, long long& sum) {
  for (long long i = 0; i < total; ++i) sum += co_await ch.async_receive(use_awaitable);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: asio_peer <case> [n]\n");
    return 2;
  }
  const std::string which = argv[1];
  asio::io_context ctx(1);
  if (which == "spawn_join") {
    const long long n = peer_arg(argc, argv, 2, 1000000);
    const double cold = spawn_join_round(ctx, n);
    const double warm = spawn_join_round(ctx, n);
    peer_report("spawn_join_cold", peer, cold, "ns");
    peer_report("spawn_join_warm", peer, warm, "ns");
  } else if (which == "yield") {
    double v = 0;
    asio::co_spawn(ctx, yield_loop(peer_arg(argc, argv, 2, 1000000), v), asio::detached);
    ctx.run();
    peer_report("yield", peer, v, "ns");
  } else if (which == "fib") {
    const int n = static_cast<int>(peer_arg(argc, argv, 2, 30));
    asio::thread_pool pool(2);
    std::int64_t value = 0;
    const long long start = peer_now_ns();
    asio::co_spawn(pool, fib(n), [&value](std::exception_ptr, std::int64_t v) { value = v; });
    pool.join();
    const long long end = peer_now_ns();
    if (n == 30 && value != 832040) std::fprintf(stderr, "fib(30) wrong\n");
    peer_report("fib30", peer_mt, static_cast<double>(end - start) / 1e6, "ms");
  } else if (which == "idle_bytes") {
    // The cheapest wait: one shared timer that never expires, cancelled at the end.
    const long long n = peer_arg(argc, argv, 2, 100000);
    asio::steady_timer gate(ctx, asio::steady_timer::time_point::max());
    long long parked = 0;
    const long long before = peer_rss_bytes();
    for (long long i = 0; i < n; ++i) asio::co_spawn(ctx, idle_task(gate, parked), asio::detached);
    while (parked < n) ctx.run_one();
    ctx.poll();  // every coroutine is now suspended in async_wait
    const long long after = peer_rss_bytes();
    gate.cancel();
    ctx.run();
    peer_report("idle_bytes", peer, static_cast<double>(after - before) / static_cast<double>(n),
                "bytes");
  } else if (which == "idle_timer_bytes") {
    const long long n = peer_arg(argc, argv, 2, 100000);
    std::vector<asio::steady_timer*> timers;
    timers.reserve(static_cast<std::size_t>(n));
    const long long before = peer_rss_bytes();
    for (long long i = 0; i < n; ++i) asio::co_spawn(ctx, timer_idle_task(timers), asio::detached);
    while (static_cast<long long>(timers.size()) < n) ctx.run_one();
    ctx.poll();
    const long long after = peer_rss_bytes();
    for (asio::steady_timer* t : timers) t->cancel();
    ctx.run();
    peer_report("idle_timer_bytes", peer,
                static_cast<double>(after - before) / static_cast<double>(n), "bytes");
  } else if (which == "ping_pong") {
    int_channel to_pong(ctx, 1);
    int_channel from_pong(ctx, 1);
    double v = 0;
    asio::co_spawn(ctx, pong(to_pong, from_pong), asio::detached);
    asio::co_spawn(ctx, ping(to_pong, from_pong, peer_arg(argc, argv, 2, 100000), v),
                   asio::detached);
    ctx.run();
    peer_report("ping_pong", peer, v, "ns");
  } else if (which == "timers") {
    const long long n = peer_arg(argc, argv, 2, 1000000);
    unsigned long long x = 42;
    const long long start = peer_now_ns();
    for (long long i = 0; i < n; ++i) {
      const unsigned long long us = peer_xorshift(&x) % 100001;
      asio::co_spawn(ctx, sleeper(std::chrono::microseconds(us)), asio::detached);
    }
    ctx.run();
    peer_report("timers", peer, static_cast<double>(peer_now_ns() - start) / 1e6, "ms");
    peer_report("timers_rss", peer, static_cast<double>(peer_peak_rss_bytes()) / 1e6, "MB");
  } else if (which == "echo") {
    asio::co_spawn(ctx, echo_server(static_cast<unsigned short>(peer_arg(argc, argv, 2, 7000))),
                   asio::detached);
    ctx.run();
  } else if (which == "mpsc") {
    const long long n_each = peer_arg(argc, argv, 2, 250000);
    asio::thread_pool pool(2);
    mpsc_channel ch(pool, 1024);
    long long sum = 0;
    const long long start = peer_now_ns();
    asio::co_spawn(pool, consumer(ch, n_each * contenders, sum), asio::detached);
    for (int t = 0; t < contenders; ++t) asio::co_spawn(pool, producer(ch, n_each), asio::detached);
    pool.join();
    const long long end = peer_now_ns();
    if (sum != contenders * (n_each * (n_each - 1) / 2)) std::fprintf(stderr, "mpsc: bad sum\n");
    peer_report("mpsc", peer_mt, per(start, end, n_each * contenders), "ns");
  } else if (which == "mutex") {
    peer_na("mutex", peer, "asio-has-no-async-mutex");
  } else {
    peer_na(which.c_str(), peer, "no-such-case");
  }
  return 0;
}
