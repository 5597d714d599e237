// oneTBB: the fork-join specialist (task_group, work stealing, no
// suspension). A TBB task cannot wait without blocking its thread, so the
// waiting cases (idle tasks, timers, echo) have no TBB form.
//
//   tbb_peer <case> <threads> [n]
//
// Cases: spawn_join (cold then warm, task_group::run x n + wait), fib,
// mutex (tbb::spin_mutex, 4 tasks), mpsc and ping_pong
// (concurrent_bounded_queue between std::threads: TBB's blocking queue).

#include "../common/peer_util.h"

#include <tbb/concurrent_queue.h>
#include <tbb/spin_mutex.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

double per(long long start, long long end, long long n) {
  return static_cast<double>(end - start) / static_cast<double>(n);
}

double spawn_join_round(long long n) {
  tbb::task_group group;
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) group.run([] {});
  group.wait();
  return per(start, peer_now_ns(), n);
}

std::int64_t fib(int n) {
  if (n < 2) return n;
  std::int64_t a = 0;
  tbb::task_group group;
  group.run([&] { a = fib(n - 1); });
  const std::int64_t b = fib(n - 2);
  group.wait();
  return a + b;
}

constexpr int contenders = 4;

void mutex_case(const std::string& peer, long long n_each) {
  tbb::spin_mutex m;
  long long counter = 0;
  tbb::task_group group;
  const long long start = peer_now_ns();
  for (int t = 0; t < contenders; ++t) {
    group.run([&] {
      for (long long i = 0; i < n_each; ++i) {
        tbb::spin_mutex::scoped_lock lock(m);
        ++counter;
      }
    });
  }
  group.wait();
  const long long end = peer_now_ns();
  if (counter != n_each * contenders) std::fprintf(stderr, "mutex: lost updates\n");
  peer_report("mutex", peer.c_str(), per(start, end, n_each * contenders), "ns");
}

void mpsc(const std::string& peer, long long n_each) {
  tbb::concurrent_bounded_queue<long long> queue;
  queue.set_capacity(1024);
  std::vector<std::thread> producers;
  const long long start = peer_now_ns();
  for (int t = 0; t < contenders; ++t) {
    producers.emplace_back([&] {
      for (long long i = 0; i < n_each; ++i) queue.push(i);
    });
  }
  long long sum = 0;
  for (long long received = 0; received < n_each * contenders; ++received) {
    long long v = 0;
    queue.pop(v);
    sum += v;
  }
  const long long end = peer_now_ns();
  for (std::thread& t : producers) t.join();
  if (sum != contenders * (n_each * (n_each - 1) / 2)) std::fprintf(stderr, "mpsc: bad sum\n");
  peer_report("mpsc", peer.c_str(), per(start, end, n_each * contenders), "ns");
}

void ping_pong(const std::string& peer, long long n) {
  tbb::concurrent_bounded_queue<int> to_pong;
  tbb::concurrent_bounded_queue<int> to_ping;
  std::thread pong([&] {
    for (long long i = 0; i < n; ++i) {
      int v = 0;
      to_pong.pop(v);
      to_ping.push(v);
    }
  });
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) {
    int v = 0;
    to_pong.push(1);
    to_ping.pop(v);
  }
  const long long end = peer_now_ns();
  pong.join();
  peer_report("ping_pong", peer.c_str(), per(start, end, n), "ns");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tbb_peer <case> <threads> [n]\n");
    return 2;
  }
  const std::string which = argv[1];
  const int threads = std::atoi(argv[2]);
  const std::string peer = "tbb-" + std::to_string(threads) + "t";
  tbb::task_arena arena(threads);
  if (which == "spawn_join") {
    const long long n = peer_arg(argc, argv, 3, 1000000);
    double cold = 0;
    double warm = 0;
    arena.execute([&] {
      cold = spawn_join_round(n);
      warm = spawn_join_round(n);
    });
    peer_report("spawn_join_cold", peer.c_str(), cold, "ns");
    peer_report("spawn_join_warm", peer.c_str(), warm, "ns");
  } else if (which == "fib") {
    const int n = static_cast<int>(peer_arg(argc, argv, 3, 30));
    std::int64_t value = 0;
    const long long start = peer_now_ns();
    arena.execute([&] { value = fib(n); });
    const long long end = peer_now_ns();
    if (n == 30 && value != 832040) std::fprintf(stderr, "fib(30) wrong\n");
    peer_report("fib30", peer.c_str(), static_cast<double>(end - start) / 1e6, "ms");
  } else if (which == "mutex") {
    arena.execute([&] { mutex_case(peer, peer_arg(argc, argv, 3, 250000)); });
  } else if (which == "mpsc") {
    mpsc(peer, peer_arg(argc, argv, 3, 250000));
  } else if (which == "ping_pong") {
    ping_pong(peer, peer_arg(argc, argv, 3, 100000));
  } else {
    peer_na(which.c_str(), peer.c_str(), "no-tbb-form");
  }
  return 0;
}
