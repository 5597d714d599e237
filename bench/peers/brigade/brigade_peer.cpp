// brigade's side of the peer suite (bench/peers/README.md): the same problems
// as tokio/src/main.rs, go/main.go, asio/asio_peer.cpp, tbb/tbb_peer.cpp ...,
// written with brigade's public API only.
//
//   brigade_peer <case> <ct|mt> [n]
//
// Cases: spawn_join (prints the cold first round, then the warm second round,
// both in this fresh process), yield, fib, idle_bytes, idle_timer_bytes, timers,
// thread_create_join. Cases that need parts of brigade not written yet
// (channels, sockets, sync) are not here: the driver prints them as "n/a".
//
// Every timed loop runs inside one block_on task, so block_on's own cost is
// outside the figures.

#include "../common/peer_util.h"

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/time/sleep.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace bg = brigade;

namespace {

constexpr std::size_t mt_workers = 2;

struct run_config {
  bg::flavor flavor = bg::flavor::current_thread;
  std::string peer;
};

double elapsed_per(long long start_ns, long long end_ns, std::size_t n) {
  return static_cast<double>(end_ns - start_ns) / static_cast<double>(n);
}

// ---- spawn + join ---------------------------------------------------------

bg::task<> empty_task() { co_return; }

/// Spawns n empty tasks keeping their handles, then joins each; ns per task.
/// The handle vector is sized before the clock starts (its pages are the
/// benchmark's, not the runtime's).
bg::task<double> spawn_join_round(std::size_t n) {
  std::vector<bg::join_handle<void>> handles(n);
  const long long start = peer_now_ns();
  for (std::size_t i = 0; i < n; ++i) handles[i] = bg::spawn(empty_task());
  for (bg::join_handle<void>& h : handles) co_await h;
  co_return elapsed_per(start, peer_now_ns(), n);
}

bg::task<> spawn_join_case(std::size_t n, const std::string& peer) {
  const double cold = co_await spawn_join_round(n);
  const double warm = co_await spawn_join_round(n);
  peer_report("spawn_join_cold", peer.c_str(), cold, "ns");
  peer_report("spawn_join_warm", peer.c_str(), warm, "ns");
}

// ---- yield_now ------------------------------------------------------------

bg::task<> yield_case(std::size_t n, const std::string& peer) {
  for (std::size_t i = 0; i < n / 10; ++i) co_await bg::yield_now();  // warm-up
  const long long start = peer_now_ns();
  for (std::size_t i = 0; i < n; ++i) co_await bg::yield_now();
  peer_report("yield", peer.c_str(), elapsed_per(start, peer_now_ns(), n), "ns");
}

// ---- fib(30), a spawn at every level ---------------------------------------

/// The classic fork-join shape every peer uses: spawn fib(n-1), compute
/// fib(n-2) in this task, then join the child.
bg::task<std::int64_t> fib(int n) {
  if (n < 2) co_return n;
  bg::join_handle<std::int64_t> child = bg::spawn(fib(n - 1));
  const std::int64_t b = co_await fib(n - 2);
  const std::int64_t a = co_await child;
  co_return a + b;
}

bg::task<> fib_case(int n, const std::string& peer) {
  const long long start = peer_now_ns();
  const std::int64_t value = co_await fib(n);
  const long long end = peer_now_ns();
  if (value != 832040 && n == 30)
    std::fprintf(stderr, "fib(30) = %lld?\n", static_cast<long long>(value));
  peer_report("fib30", peer.c_str(), static_cast<double>(end - start) / 1e6, "ms");
}

// ---- bytes per idle task ----------------------------------------------------

/// brigade has no notify yet: an idle task here awaits the join_handle of
/// the next link of a chain, whose tail (the gate) waits for `release`. The
/// gate spins on yield_now; every other link is parked, allocating nothing.
struct idle_chain {
  std::atomic<std::size_t> parked{0};  // seq_cst: multi_thread runs are allowed too
  std::atomic<bool> release{false};
};

bg::task<> chain_link(std::size_t remaining, idle_chain& chain) {
  if (remaining == 0) {
    ++chain.parked;
    while (!chain.release) co_await bg::yield_now();
    co_return;
  }
  bg::join_handle<void> next = bg::spawn(chain_link(remaining - 1, chain));
  ++chain.parked;
  co_await next;
}

bg::task<> idle_bytes_case(std::size_t n, const std::string& peer) {
  idle_chain chain;
  const long long before = peer_rss_bytes();
  bg::join_handle<void> head = bg::spawn(chain_link(n - 1, chain));
  while (chain.parked < n) co_await bg::yield_now();
  const long long after = peer_rss_bytes();
  chain.release = true;
  co_await head;
  peer_report("idle_bytes", peer.c_str(),
              static_cast<double>(after - before) / static_cast<double>(n), "bytes");
}

// ---- bytes per task waiting on a timer --------------------------------------

bg::task<> timer_idle_task(std::atomic<std::size_t>& parked) {
  parked.fetch_add(1);  // seq_cst: multi_thread runs are allowed too
  co_await bg::sleep(std::chrono::hours(1));
}

/// n tasks each asleep for an hour (the timer entry lives in the frame);
/// RSS growth per task, then every task is aborted and joined.
bg::task<> idle_timer_case(std::size_t n, const std::string& peer) {
  std::atomic<std::size_t> parked{0};
  std::vector<bg::join_handle<void>> handles(n);
  const long long before = peer_rss_bytes();
  for (std::size_t i = 0; i < n; ++i) handles[i] = bg::spawn(timer_idle_task(parked));
  while (parked.load() < n) co_await bg::yield_now();
  co_await bg::yield_now();  // the last ones reach their sleep
  const long long after = peer_rss_bytes();
  for (bg::join_handle<void>& h : handles) h.abort();
  for (bg::join_handle<void>& h : handles) {
    try {
      co_await h;
    } catch (const bg::cancelled&) {
      // expected: the sleep was aborted
    }
  }
  peer_report("idle_timer_bytes", peer.c_str(),
              static_cast<double>(after - before) / static_cast<double>(n), "bytes");
}

// ---- 10^6 sleeps -------------------------------------------------------------

bg::task<> sleeper(std::chrono::microseconds d) { co_await bg::sleep(d); }

/// 10^6 tasks each sleeping a random 0-100 ms (the xorshift sequence every
/// peer uses), spawned from one task, then joined; wall ms and peak RSS.
bg::task<> timers_case(std::size_t n, const std::string& peer) {
  std::vector<bg::join_handle<void>> handles(n);
  unsigned long long x = 42;
  const long long start = peer_now_ns();
  for (std::size_t i = 0; i < n; ++i) {
    handles[i] = bg::spawn(sleeper(std::chrono::microseconds(peer_xorshift(&x) % 100001)));
  }
  for (bg::join_handle<void>& h : handles) co_await h;
  peer_report("timers", peer.c_str(), static_cast<double>(peer_now_ns() - start) / 1e6, "ms");
  peer_report("timers_rss", peer.c_str(), static_cast<double>(peer_peak_rss_bytes()) / 1e6, "MB");
}

// ---- one spawn + join at a time (the task beside std::thread) ---------------

bg::task<> thread_create_join_case(std::size_t n, const std::string& peer) {
  for (std::size_t i = 0; i < 1000; ++i) co_await bg::spawn(empty_task());  // warm-up
  const long long start = peer_now_ns();
  for (std::size_t i = 0; i < n; ++i) co_await bg::spawn(empty_task());
  peer_report("thread_create_join", peer.c_str(), elapsed_per(start, peer_now_ns(), n) / 1e3, "us");
}

int usage() {
  std::fprintf(stderr,
               "usage: brigade_peer "
               "<spawn_join|yield|fib|idle_bytes|idle_timer_bytes|timers|thread_create_join> "
               "<ct|mt> [n]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string which = argv[1];
  run_config cfg;
  if (std::strcmp(argv[2], "mt") == 0) {
    cfg.flavor = bg::flavor::multi_thread;
    cfg.peer = "brigade-mt";
  } else if (std::strcmp(argv[2], "ct") == 0) {
    cfg.peer = "brigade-ct";
  } else {
    return usage();
  }
  bg::runtime rt(bg::runtime_options{
      .flavor = cfg.flavor,
      .worker_threads = cfg.flavor == bg::flavor::multi_thread ? mt_workers : 0});
  if (which == "spawn_join") {
    rt.block_on(
        spawn_join_case(static_cast<std::size_t>(peer_arg(argc, argv, 3, 1000000)), cfg.peer));
  } else if (which == "yield") {
    rt.block_on(yield_case(static_cast<std::size_t>(peer_arg(argc, argv, 3, 1000000)), cfg.peer));
  } else if (which == "fib") {
    rt.block_on(fib_case(static_cast<int>(peer_arg(argc, argv, 3, 30)), cfg.peer));
  } else if (which == "idle_bytes") {
    rt.block_on(
        idle_bytes_case(static_cast<std::size_t>(peer_arg(argc, argv, 3, 100000)), cfg.peer));
  } else if (which == "idle_timer_bytes") {
    rt.block_on(
        idle_timer_case(static_cast<std::size_t>(peer_arg(argc, argv, 3, 100000)), cfg.peer));
  } else if (which == "timers") {
    rt.block_on(timers_case(static_cast<std::size_t>(peer_arg(argc, argv, 3, 1000000)), cfg.peer));
  } else if (which == "thread_create_join") {
    rt.block_on(thread_create_join_case(static_cast<std::size_t>(peer_arg(argc, argv, 3, 100000)),
                                        cfg.peer));
  } else {
    return usage();
  }
  return 0;
}
