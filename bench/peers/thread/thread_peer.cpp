// Plain std::thread: the baseline every task runtime is sold against. One OS
// thread per "task", std::mutex + std::condition_variable for every wait.
//
//   thread_peer <case> [n]
//
// Cases: thread_create_join, idle_bytes (bytes per blocked thread: RSS only;
// the kernel's ~28 KB per thread for its stack, slab and page tables is not
// in RSS), yield (sched_yield), ping_pong, mutex, mpsc.

#include "../common/peer_util.h"

#include <sched.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* const peer = "thread";

double per(long long start, long long end, long long n) {
  return static_cast<double>(end - start) / static_cast<double>(n);
}

void thread_create_join(long long n) {
  for (int i = 0; i < 100; ++i) std::thread([] {}).join();  // warm-up
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) std::thread([] {}).join();
  peer_report("thread_create_join", peer, per(start, peer_now_ns(), n) / 1e3, "us");
}

void idle_bytes(long long n) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  long long parked = 0;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  const long long before = peer_rss_bytes();
  for (long long i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      std::unique_lock lock(m);
      ++parked;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    });
  }
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return parked == n; });
  }
  const long long after = peer_rss_bytes();
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) t.join();
  peer_report("idle_bytes", peer, static_cast<double>(after - before) / static_cast<double>(n),
              "bytes");
}

void yield(long long n) {
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) sched_yield();
  peer_report("yield", peer, per(start, peer_now_ns(), n), "ns");
}

void ping_pong(long long n) {
  std::mutex m;
  std::condition_variable cv;
  long long turn = 0;  // even: ping's turn, odd: pong's
  std::thread pong([&] {
    for (long long i = 0; i < n; ++i) {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return turn % 2 == 1; });
      ++turn;
      cv.notify_one();
    }
  });
  const long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) {
    std::unique_lock lock(m);
    ++turn;
    cv.notify_one();
    cv.wait(lock, [&] { return turn % 2 == 0; });
  }
  const long long end = peer_now_ns();
  pong.join();
  peer_report("ping_pong", peer, per(start, end, n), "ns");
}

constexpr int contenders = 4;

void mutex_case(long long n_each) {
  std::mutex m;
  long long counter = 0;
  std::vector<std::thread> threads;
  const long long start = peer_now_ns();
  for (int t = 0; t < contenders; ++t) {
    threads.emplace_back([&] {
      for (long long i = 0; i < n_each; ++i) {
        std::lock_guard lock(m);
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const long long end = peer_now_ns();
  if (counter != n_each * contenders) std::fprintf(stderr, "mutex: lost updates\n");
  peer_report("mutex", peer, per(start, end, n_each * contenders), "ns");
}

/// A bounded (1024) mutex + condvar queue, 4 producers, 1 consumer.
void mpsc(long long n_each) {
  constexpr std::size_t capacity = 1024;
  std::mutex m;
  std::condition_variable not_empty;
  std::condition_variable not_full;
  std::deque<long long> queue;
  std::vector<std::thread> producers;
  const long long start = peer_now_ns();
  for (int t = 0; t < contenders; ++t) {
    producers.emplace_back([&] {
      for (long long i = 0; i < n_each; ++i) {
        std::unique_lock lock(m);
        not_full.wait(lock, [&] { return queue.size() < capacity; });
        queue.push_back(i);
        lock.unlock();
        not_empty.notify_one();
      }
    });
  }
  long long sum = 0;
  for (long long received = 0; received < n_each * contenders; ++received) {
    std::unique_lock lock(m);
    not_empty.wait(lock, [&] { return !queue.empty(); });
    sum += queue.front();
    queue.pop_front();
    lock.unlock();
    not_full.notify_one();
  }
  const long long end = peer_now_ns();
  for (std::thread& t : producers) t.join();
  if (sum != contenders * (n_each * (n_each - 1) / 2)) std::fprintf(stderr, "mpsc: bad sum\n");
  peer_report("mpsc", peer, per(start, end, n_each * contenders), "ns");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: thread_peer <case> [n]\n");
    return 2;
  }
  const std::string which = argv[1];
  if (which == "thread_create_join") {
    thread_create_join(peer_arg(argc, argv, 2, 10000));
  } else if (which == "idle_bytes") {
    idle_bytes(peer_arg(argc, argv, 2, 2000));
  } else if (which == "yield") {
    yield(peer_arg(argc, argv, 2, 1000000));
  } else if (which == "ping_pong") {
    ping_pong(peer_arg(argc, argv, 2, 20000));
  } else if (which == "mutex") {
    mutex_case(peer_arg(argc, argv, 2, 250000));
  } else if (which == "mpsc") {
    mpsc(peer_arg(argc, argv, 2, 250000));
  } else {
    peer_na(which.c_str(), peer, "no-such-case");
  }
  return 0;
}
