// brigade's side of the peer suite (bench/peers/README.md): the same problems
// as tokio/src/main.rs, go/main.go, asio/asio_peer.cpp, tbb/tbb_peer.cpp ...,
// written with brigade's public API only.
//
//   brigade_peer <case> <ct|mt|ct-epoll|ct-uring> [n]
//
// Cases: spawn_join (prints the cold first round, then the warm second round,
// both in this fresh process), yield, fib, idle_bytes, idle_timer_bytes, timers,
// thread_create_join, ping_pong, mutex, mpsc, and echo (a TCP echo server on
// 127.0.0.1:<n> that prints "listening" and serves until killed; the driver
// loads it with epoll/echo_client.c). ct-epoll / ct-uring are current_thread
// with that I/O backend (for echo); ct and mt use the automatic backend.
//
// Every timed loop runs inside one block_on task, so block_on's own cost is
// outside the figures.

#include "../common/peer_util.h"

#include <brigade/cancelled.hpp>
#include <brigade/channel/mpsc.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/spawn.hpp>
#include <brigade/sync/mutex.hpp>
#include <brigade/sync/notify.hpp>
#include <brigade/task.hpp>
#include <brigade/time/sleep.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;
namespace bn = brigade::net;

namespace {

constexpr std::size_t mt_workers = 2;

/// Tasks contending in the mutex and mpsc cases (the peers' CONTENDERS).
constexpr std::uint64_t contenders = 4;

struct run_config {
  bg::flavor flavor = bg::flavor::current_thread;
  bg::io_backend io = bg::io_backend::automatic;
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

/// One idle task: counts itself, then waits on the shared notify (Tokio's
/// peer: Notify::notified()), and counts itself again once woken.
bg::task<> notify_idle_task(bg::notify& ready, std::atomic<std::size_t>& parked,
                            std::atomic<std::size_t>& woken) {
  parked.fetch_add(1);  // seq_cst: multi_thread runs are allowed too
  co_await ready.notified();
  woken.fetch_add(1);
}

/// n tasks each waiting on one shared brigade::notify; RSS growth per task
/// (the handle vector is allocated inside the window, as in Tokio's peer).
bg::task<> idle_bytes_case(std::size_t n, const std::string& peer) {
  bg::notify ready;
  std::atomic<std::size_t> parked{0};
  std::atomic<std::size_t> woken{0};
  const long long before = peer_rss_bytes();
  std::vector<bg::join_handle<void>> handles(n);
  for (std::size_t i = 0; i < n; ++i)
    handles[i] = bg::spawn(notify_idle_task(ready, parked, woken));
  while (parked.load() < n) co_await bg::yield_now();
  co_await bg::yield_now();  // the last ones reach their wait
  const long long after = peer_rss_bytes();
  // notify_all wakes the current waiters only: repeat until every task got
  // it (on multi_thread one may still be on its way to the wait).
  while (woken.load() < n) {
    ready.notify_all();
    co_await bg::yield_now();
  }
  for (bg::join_handle<void>& h : handles) co_await h;
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

// ---- ping-pong over two channels ---------------------------------------------

bg::task<> pong_task(ch::mpsc_receiver<std::uint64_t> rx, ch::mpsc_sender<std::uint64_t> tx) {
  while (std::optional<std::uint64_t> v = co_await rx.recv()) {
    if (!co_await tx.send(*v)) co_return;
  }
}

bg::task<double> ping_task(ch::mpsc_sender<std::uint64_t> tx, ch::mpsc_receiver<std::uint64_t> rx,
                           std::size_t n) {
  const long long start = peer_now_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    (void)co_await tx.send(i);
    (void)co_await rx.recv();
  }
  co_return elapsed_per(start, peer_now_ns(), n);
}

/// Two spawned tasks bounce a number over two bounded(1) mpsc channels, as
/// Tokio's peer does: ns per round trip (2 sends, 2 receives, 2 wake-ups).
bg::task<> ping_pong_case(std::size_t n, const std::string& peer) {
  auto [to_pong, pong_rx] = ch::mpsc<std::uint64_t>(1);
  auto [to_ping, ping_rx] = ch::mpsc<std::uint64_t>(1);
  bg::join_handle<void> pong = bg::spawn(pong_task(std::move(pong_rx), std::move(to_ping)));
  bg::join_handle<double> ping = bg::spawn(ping_task(std::move(to_pong), std::move(ping_rx), n));
  const double per_round_trip = co_await ping;  // its sender is gone: pong ends
  co_await pong;
  peer_report("ping_pong", peer.c_str(), per_round_trip, "ns");
}

// ---- mutex contention --------------------------------------------------------

bg::task<> contender(bg::mutex& m, std::uint64_t& counter, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    bg::mutex::guard g = co_await m.lock();
    ++counter;
  }
}

/// 4 tasks each lock a shared mutex n times and increment a counter under
/// it: ns per lock/unlock (the whole run over all locks).
bg::task<> mutex_case(std::uint64_t n_each, const std::string& peer) {
  bg::mutex m;
  std::uint64_t counter = 0;
  const long long start = peer_now_ns();
  std::vector<bg::join_handle<void>> handles;
  for (std::uint64_t c = 0; c < contenders; ++c)
    handles.push_back(bg::spawn(contender(m, counter, n_each)));
  for (bg::join_handle<void>& h : handles) co_await h;
  const long long end = peer_now_ns();
  if (counter != n_each * contenders) {
    std::fprintf(stderr, "mutex: lost updates (%llu)\n", static_cast<unsigned long long>(counter));
  }
  peer_report("mutex", peer.c_str(), elapsed_per(start, end, n_each * contenders), "ns");
}

// ---- mpsc throughput ---------------------------------------------------------

bg::task<> producer(ch::mpsc_sender<std::uint64_t> tx, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!co_await tx.send(i)) co_return;
  }
}

/// 4 producer tasks send n numbers each into one bounded(1024) channel; this
/// task receives and sums them all: ns per message.
bg::task<> mpsc_case(std::uint64_t n_each, const std::string& peer) {
  auto [tx, rx] = ch::mpsc<std::uint64_t>(1024);
  const long long start = peer_now_ns();
  // Detached, as Tokio's producers: the end of the stream (every sender
  // gone) is the join. A kept join_handle would keep the producer's frame,
  // and so its sender parameter, alive after it finished: recv() would
  // never see the end.
  for (std::uint64_t c = 0; c < contenders; ++c) bg::spawn(producer(tx, n_each)).detach();
  { ch::mpsc_sender<std::uint64_t> gone = std::move(tx); }  // only the producers' senders remain
  std::uint64_t sum = 0;
  while (std::optional<std::uint64_t> v = co_await rx.recv()) sum += *v;
  const long long end = peer_now_ns();
  if (sum != contenders * (n_each * (n_each - 1) / 2)) std::fprintf(stderr, "mpsc: bad sum\n");
  peer_report("mpsc", peer.c_str(), elapsed_per(start, end, n_each * contenders), "ns");
}

// ---- TCP echo server -----------------------------------------------------------

bg::task<> echo_connection(bn::tcp_stream s) {
  char buf[65536];
  try {
    for (;;) {
      const std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      co_await s.write_all(bn::const_buffer{buf, n});
    }
  } catch (const std::system_error&) {
    // the client went away: this connection is done
  }
}

/// Accepts forever on 127.0.0.1:port, one task per connection (TCP_NODELAY),
/// as Tokio's peer; the driver measures the process's CPU time and kills it.
bg::task<> echo_case(int port) {
  // Named, not a temporary inside the co_await operand (g++ 12 destroys
  // non-trivial temporaries there twice).
  const std::string local = "127.0.0.1:" + std::to_string(port);
  bn::tcp_listener l = co_await bn::tcp_listener::bind(local);
  std::printf("listening\n");
  std::fflush(stdout);
  for (;;) {
    bn::accepted a = co_await l.accept();
    a.stream.set_nodelay(true);
    bg::spawn(echo_connection(std::move(a.stream))).detach();
  }
}

int usage() {
  std::fprintf(stderr,
               "usage: brigade_peer "
               "<spawn_join|yield|fib|idle_bytes|idle_timer_bytes|timers|thread_create_join|"
               "ping_pong|mutex|mpsc|echo> <ct|mt|ct-epoll|ct-uring> [n]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string which = argv[1];
  const std::string mode = argv[2];
  run_config cfg;
  if (mode == "mt") {
    cfg.flavor = bg::flavor::multi_thread;
  } else if (mode == "ct-epoll") {
    cfg.io = bg::io_backend::epoll;
  } else if (mode == "ct-uring") {
    cfg.io = bg::io_backend::io_uring;
  } else if (mode != "ct") {
    return usage();
  }
  cfg.peer = "brigade-" + mode;
  const auto n = [&](long long fallback) {
    return static_cast<std::size_t>(peer_arg(argc, argv, 3, fallback));
  };
  std::unique_ptr<bg::runtime> rt;
  try {
    rt = std::make_unique<bg::runtime>(bg::runtime_options{
        .flavor = cfg.flavor,
        .worker_threads = cfg.flavor == bg::flavor::multi_thread ? mt_workers : 0,
        .io = cfg.io});
  } catch (const std::system_error& e) {
    // e.g. io_uring refused by this kernel or sandbox: not a failure of the suite
    peer_na(which == "echo" ? "echo_cpu" : which.c_str(), cfg.peer.c_str(), "runtime unavailable");
    std::fprintf(stderr, "brigade_peer: %s\n", e.what());
    return 0;
  }
  if (which == "spawn_join") {
    rt->block_on(spawn_join_case(n(1000000), cfg.peer));
  } else if (which == "yield") {
    rt->block_on(yield_case(n(1000000), cfg.peer));
  } else if (which == "fib") {
    rt->block_on(fib_case(static_cast<int>(n(30)), cfg.peer));
  } else if (which == "idle_bytes") {
    rt->block_on(idle_bytes_case(n(100000), cfg.peer));
  } else if (which == "idle_timer_bytes") {
    rt->block_on(idle_timer_case(n(100000), cfg.peer));
  } else if (which == "timers") {
    rt->block_on(timers_case(n(1000000), cfg.peer));
  } else if (which == "thread_create_join") {
    rt->block_on(thread_create_join_case(n(100000), cfg.peer));
  } else if (which == "ping_pong") {
    rt->block_on(ping_pong_case(n(100000), cfg.peer));
  } else if (which == "mutex") {
    rt->block_on(mutex_case(n(250000), cfg.peer));
  } else if (which == "mpsc") {
    rt->block_on(mpsc_case(n(250000), cfg.peer));
  } else if (which == "echo") {
    rt->block_on(echo_case(static_cast<int>(n(7000))));
  } else {
    return usage();
  }
  return 0;
}
