// runtime::dump_tasks: "where it waits" — every waiting task's line names
// what it is suspended on (the awaiter records it in the task header).
#include <brigade/cancellation.hpp>
#include <brigade/channel/mpsc.hpp>
#include <brigade/channel/oneshot.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/spawn_blocking.hpp>
#include <brigade/sync/mutex.hpp>
#include <brigade/sync/notify.hpp>
#include <brigade/sync/semaphore.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>
#include <brigade/time/sleep.hpp>

#include "support/helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {

namespace bg = brigade;
namespace ch = brigade::channel;
using namespace std::chrono_literals;

std::string addr(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

bg::task<> lock_it(bg::mutex& m) { auto g = co_await m.lock(); }
bg::task<> sleep_long() { co_await bg::sleep(1h); }
bg::task<> wait_notify(bg::notify& n) { co_await n.notified(); }
bg::task<> take_permit(bg::semaphore& s) { auto p = co_await s.acquire(1); }
bg::task<int> recv_oneshot(ch::oneshot_receiver<int> rx) { co_return co_await rx; }
bg::task<> recv_mpsc(ch::mpsc_receiver<int>& rx) { (void)co_await rx.recv(); }
bg::task<> send_full(ch::mpsc_sender<int>& tx) { (void)co_await tx.send(2); }
bg::task<> wait_token(bg::cancellation_token tok) { co_await tok.cancelled(); }
bg::task<> join_other(bg::join_handle<void> h) { co_await h; }
bg::task<> wait_blocking(std::atomic<bool>& go) {
  co_await bg::spawn_blocking([&go] {
    while (!go.load()) std::this_thread::sleep_for(1ms);
  });
}

BRIGADE_TEST(DumpTasks, EachWaitingTaskSaysWhatItWaitsOn) {
  bg::mutex m;
  auto held = co_await m.lock();
  bg::notify n;
  bg::semaphore sem{0};
  auto [one_tx, one_rx] = ch::oneshot<int>();
  auto [in_tx, in_rx] = ch::mpsc<int>(1);
  auto [full_tx, full_rx] = ch::mpsc<int>(1);
  BRIGADE_CO_ASSERT(full_tx.try_send(1) == ch::try_send_result::sent);
  bg::cancellation_source source;
  std::atomic<bool> go{false};

  auto a = bg::spawn(lock_it(m), "on-mutex");
  auto b = bg::spawn(sleep_long(), "on-sleep");
  auto c = bg::spawn(wait_notify(n), "on-notify");
  auto d = bg::spawn(take_permit(sem), "on-semaphore");
  auto e = bg::spawn(recv_oneshot(std::move(one_rx)), "on-oneshot");
  auto f = bg::spawn(recv_mpsc(in_rx), "on-mpsc-recv");
  auto g = bg::spawn(send_full(full_tx), "on-mpsc-send");
  auto h = bg::spawn(wait_token(source.token()), "on-token");
  auto blocking = bg::spawn(wait_blocking(go), "on-blocking");
  auto i = bg::spawn(join_other(std::move(b)), "on-join");

  const std::string expected[][2] = {
      {"on-mutex", "waiting on mutex " + addr(&m)},
      {"on-sleep", "waiting on sleep until +"},
      {"on-notify", "waiting on notify " + addr(&n)},
      {"on-semaphore", "waiting on semaphore " + addr(&sem)},
      {"on-oneshot", "waiting on oneshot recv 0x"},
      {"on-mpsc-recv", "waiting on mpsc recv 0x"},
      {"on-mpsc-send", "waiting on mpsc send 0x"},
      {"on-token", "waiting on cancellation 0x"},
      {"on-blocking", "waiting on spawn_blocking job 0x"},
      {"on-join", "waiting on join task 0x"},
  };
  std::string dump;
  bool all = false;
  for (int round = 0; round < 100000 && !all; ++round) {
    co_await bg::yield_now();
    dump = bg::current_runtime().dump_tasks();
    all = true;
    for (const auto& [name, want] : expected) {
      if (bg::testing::dump_line_of(dump, name).find(want) == std::string::npos) all = false;
    }
  }
  for (const auto& [name, want] : expected) {
    EXPECT_NE(bg::testing::dump_line_of(dump, name).find(want), std::string::npos)
        << name << " should say '" << want << "'; dump:\n"
        << dump;
  }
  // Only idle tasks say where they wait: the test body itself is running.
  EXPECT_NE(bg::testing::dump_line_of(dump, "block_on").find("running"), std::string::npos) << dump;
  EXPECT_EQ(bg::testing::dump_line_of(dump, "block_on").find(" on "), std::string::npos) << dump;

  held.unlock();
  n.notify_one();
  sem.add_permits(1);
  one_tx.send(3);
  (void)in_tx.try_send(4);
  EXPECT_EQ(full_rx.try_recv(), 1);
  source.request_cancellation();
  go.store(true);
  i.abort();
  co_await a;
  co_await c;
  co_await d;
  EXPECT_EQ(co_await e, 3);
  co_await f;
  co_await g;
  co_await h;
  co_await blocking;
  EXPECT_THROW(co_await i, bg::cancelled);
}

/// The dump, once the line of task `name` contains `want` (bounded wait).
bg::task<std::string> dump_once(std::string name, std::string want) {
  std::string dump;
  for (int round = 0; round < 100000; ++round) {
    co_await bg::yield_now();
    dump = bg::current_runtime().dump_tasks();
    if (bg::testing::dump_line_of(dump, name).find(want) != std::string::npos) break;
  }
  co_return dump;
}

bg::task<> read_one(bg::net::tcp_stream& s) {
  char c = 0;
  (void)co_await s.read(bg::net::mutable_buffer(&c, 1));
}

BRIGADE_TEST(DumpTasks, ASocketReaderSaysReadFd) {
  auto listener = co_await bg::net::tcp_listener::bind("127.0.0.1:0");
  auto client = co_await bg::net::tcp_stream::connect(listener.local_address());
  auto accepted = co_await listener.accept();
  auto reader = bg::spawn(read_one(accepted.stream), "on-socket");
  const std::string dump = co_await dump_once("on-socket", "waiting on read fd ");
  EXPECT_NE(bg::testing::dump_line_of(dump, "on-socket").find("waiting on read fd "),
            std::string::npos)
      << dump;
  co_await client.write_all("x");
  co_await reader;
}

}  // namespace
