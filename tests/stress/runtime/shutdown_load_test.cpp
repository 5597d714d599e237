// RELIABILITY.md R15, graceful shutdown under load: 10,000 live tasks
// suspended across every kind of await (timers, locks, channels, joins,
// cancellation, blocking jobs, sockets), then shutdown from outside:
// it ends within the bound, every frame is destroyed, every fd the runtime
// and its tasks opened is closed, every thread it started is joined.
#include <brigade/cancellation.hpp>
#include <brigade/channel/broadcast.hpp>
#include <brigade/channel/mpsc.hpp>
#include <brigade/channel/oneshot.hpp>
#include <brigade/channel/watch.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/spawn_blocking.hpp>
#include <brigade/sync/barrier.hpp>
#include <brigade/sync/latch.hpp>
#include <brigade/sync/mutex.hpp>
#include <brigade/sync/notify.hpp>
#include <brigade/sync/semaphore.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>
#include <brigade/time/sleep.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

namespace {

namespace bg = brigade;
namespace ch = brigade::channel;
using namespace std::chrono_literals;

constexpr int total_tasks = 10'000;
constexpr int sockets = 50;

std::size_t count_entries(const char* dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr auto shutdown_bound = 5s;  // sanitizers slow every frame teardown
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr auto shutdown_bound = 5s;
#else
constexpr auto shutdown_bound = 1s;
#endif
#else
constexpr auto shutdown_bound = 1s;
#endif

/// Everything the tasks wait on. Outlives the runtime: the frames destroyed
/// at shutdown withdraw from these.
struct world {
  bg::mutex m;
  bg::notify never;
  bg::semaphore sem{0};
  bg::barrier bar{total_tasks + 1};
  bg::latch gate{1};
  bg::cancellation_source source;
  std::vector<ch::oneshot_sender<int>> oneshot_senders;
  std::vector<ch::mpsc_sender<int>> mpsc_senders;      // keep receivers' channels open
  std::vector<ch::mpsc_receiver<int>> full_receivers;  // never read: senders wait
  ch::broadcast_sender<int> bcast = ch::broadcast<int>(4).sender;
  ch::watch_sender<int> watched = ch::watch<int>(0).sender;
  std::atomic<int> suspended{0};
  std::atomic<bool> stop_blocking{false};
};

bg::task<> sleep_hour() { co_await bg::sleep(1h); }

bg::task<> hold_lock_forever(world& w) {
  auto guard = co_await w.m.lock();
  ++w.suspended;
  co_await w.never.notified();
}

bg::task<> one_wait(world& w, int kind, ch::oneshot_receiver<int> one, ch::mpsc_receiver<int> rx,
                    ch::mpsc_sender<int> full_tx, bg::join_handle<void> other) {
  ++w.suspended;
  switch (kind) {
    case 0:
      co_await bg::sleep(1h);
      break;
    case 1:
      (void)co_await w.m.lock();
      break;
    case 2:
      co_await w.never.notified();
      break;
    case 3:
      (void)co_await w.sem.acquire(1);
      break;
    case 4:
      (void)co_await std::move(one);
      break;
    case 5:
      (void)co_await rx.recv();
      break;
    case 6:
      (void)co_await full_tx.send(1);
      break;
    case 7:
      (void)co_await w.bar.arrive_and_wait();
      break;
    case 8:
      co_await w.gate.wait();
      break;
    case 9:
      co_await w.source.token().cancelled();
      break;
    case 10:
      co_await other;
      break;
    case 11: {
      auto sub = w.bcast.subscribe();
      (void)co_await sub.recv();
      break;
    }
    case 12: {
      auto sub = w.watched.subscribe();
      (void)co_await sub.changed();
      break;
    }
    default:
      for (;;) co_await bg::yield_now();  // always runnable
  }
}

bg::task<> blocking_waiter(world& w) {
  ++w.suspended;
  co_await bg::spawn_blocking([&w] {
    for (int i = 0; i < 200 && !w.stop_blocking.load(); ++i) std::this_thread::sleep_for(1ms);
  });
}

bg::task<> socket_reader(bg::net::tcp_stream s, world& w) {
  ++w.suspended;
  char buf[16];
  (void)co_await s.read(buf);
}

bg::task<> populate(world& w) {
  auto listener = co_await bg::net::tcp_listener::bind("127.0.0.1:0");
  std::vector<bg::join_handle<void>> keep;
  keep.push_back(bg::spawn(hold_lock_forever(w)));
  for (int i = 0; i < sockets; ++i) {
    auto client = co_await bg::net::tcp_stream::connect(listener.local_address());
    auto [server, peer] = co_await listener.accept();
    keep.push_back(bg::spawn(socket_reader(std::move(client), w)));
    keep.push_back(bg::spawn(socket_reader(std::move(server), w)));
  }
  for (int i = 0; i < 4; ++i) keep.push_back(bg::spawn(blocking_waiter(w)));
  constexpr int kinds = 14;
  while (static_cast<int>(keep.size()) < total_tasks) {
    const int kind = static_cast<int>(keep.size()) % kinds;
    auto [one_tx, one_rx] = ch::oneshot<int>();
    auto [tx, rx] = ch::mpsc<int>(1);
    auto [full_tx, full_rx] = ch::mpsc<int>(1);
    (void)full_tx.try_send(0);
    w.oneshot_senders.push_back(std::move(one_tx));
    w.mpsc_senders.push_back(std::move(tx));
    w.full_receivers.push_back(std::move(full_rx));
    bg::join_handle<void> other = bg::spawn(sleep_hour());
    keep.push_back(bg::spawn(
        one_wait(w, kind, std::move(one_rx), std::move(rx), std::move(full_tx), std::move(other))));
  }
  for (auto& h : keep) h.detach();
  // Let them reach their waits (bounded).
  for (int i = 0; i < 100'000 && w.suspended.load() < total_tasks; ++i) co_await bg::yield_now();
}

void shutdown_under_load(bg::flavor f) {
  // ThreadSanitizer starts a background thread of its own with the first
  // thread a process creates: make it exist before the baseline.
  std::thread([] {}).join();
  const std::size_t fds_before = count_entries("/proc/self/fd");
  const std::size_t threads_before = count_entries("/proc/self/task");
  bg::testing::frame_accounting accounting;
  world w;
  {
    bg::runtime rt{bg::testing::test_options(f)};
    rt.block_on(populate(w));
    EXPECT_GE(w.suspended.load(), total_tasks - 200) << "most tasks reached their wait";
    EXPECT_GE(rt.metrics().live_tasks, static_cast<std::uint64_t>(total_tasks));
    const auto t0 = std::chrono::steady_clock::now();
    rt.shutdown();
    const auto took = std::chrono::steady_clock::now() - t0;
    w.stop_blocking.store(true);
    std::printf("shutdown of %d live tasks (%s): %lld ms\n", total_tasks,
                bg::testing::flavor_name(f),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
    EXPECT_LE(took, shutdown_bound)
        << "shutdown of " << total_tasks << " tasks took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
    EXPECT_EQ(rt.metrics().live_tasks, 0u);
  }
  // Detached blocking jobs (if any) finish within 200 ms of stop_blocking.
  for (int i = 0; i < 500 && count_entries("/proc/self/task") > threads_before; ++i) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(count_entries("/proc/self/fd"), fds_before) << "every socket, epoll and event fd";
  EXPECT_EQ(count_entries("/proc/self/task"), threads_before) << "every thread joined";
}

TEST(ShutdownUnderLoad, TenThousandTasksAcrossEveryWaitKind_CurrentThread) {
  shutdown_under_load(bg::flavor::current_thread);
}

TEST(ShutdownUnderLoad, TenThousandTasksAcrossEveryWaitKind_MultiThread) {
  shutdown_under_load(bg::flavor::multi_thread);
}

}  // namespace
