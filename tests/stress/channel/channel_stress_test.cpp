// Stress tests of brigade/channel (label stress): producers and consumers as
// tasks on 1, 2 and 4 workers and as plain threads (blocking_ calls), some
// tasks aborted mid-send / mid-recv. Bounded (about 10^5 messages per
// channel kind over the three worker counts); run under TSan and
// ASan+UBSan. Checks: nothing lost or duplicated, per-producer order,
// bounded buffers never over capacity, counted values all destroyed.
#include <brigade/channel/broadcast.hpp>
#include <brigade/channel/mpsc.hpp>
#include <brigade/channel/oneshot.hpp>
#include <brigade/channel/watch.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;
using counted = bg::testing::basic_counted<struct channel_stress_tag>;

namespace {

class ChannelStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime_options options() const {
    return bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = GetParam()};
  }
};

INSTANTIATE_TEST_SUITE_P(Workers, ChannelStress, ::testing::Values(1, 2, 4),
                         [](const auto& param_info) {
                           return std::to_string(param_info.param) + "workers";
                         });

constexpr int per_producer = 6000;
constexpr int key = 1'000'000;  // value = producer * key + sequence

// ---- mpsc -------------------------------------------------------------------

bg::task<> mpsc_producer(ch::mpsc_sender<counted> tx, int id, int n) {
  for (int i = 0; i < n; ++i) {
    if (!co_await tx.send(counted{id * key + i})) co_return;
  }
}

struct mpsc_tally {
  std::vector<int> next;  // per producer: the lowest sequence still allowed
  long received = 0;
  int out_of_order = 0;
  std::size_t max_size = 0;
};

bg::task<> mpsc_consumer(ch::mpsc_receiver<counted>& rx, mpsc_tally& t) {
  while (auto v = co_await rx.recv()) {
    const auto p = static_cast<std::size_t>(v->value() / key);
    const int seq = v->value() % key;
    if (seq < t.next[p]) ++t.out_of_order;  // a duplicate or a reordering
    t.next[p] = seq + 1;
    ++t.received;
    t.max_size = std::max(t.max_size, rx.size());
  }
}

TEST_P(ChannelStress, BoundedMpscTasksThreadsAndAborts) {
  constexpr int task_producers = 4;
  constexpr int thread_producers = 2;
  constexpr int victims = 10;
  constexpr std::size_t capacity = 8;
  counted::reset();
  mpsc_tally tally;
  tally.next.assign(task_producers + thread_producers + victims, 0);
  {
    auto chan = ch::mpsc<counted>(capacity);
    bg::runtime rt{options()};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_producers; ++t) {
      threads.emplace_back([tx = chan.sender, id = task_producers + t]() mutable {
        for (int i = 0; i < per_producer; ++i) {
          counted v{id * key + i};
          if (i % 3 == 0 && tx.try_send(std::move(v)) == ch::try_send_result::sent) continue;
          EXPECT_TRUE(tx.blocking_send(std::move(v)));
        }
      });
    }
    auto body = [](ch::mpsc_sender<counted> tx, ch::mpsc_receiver<counted>& rx,
                   mpsc_tally& t) -> bg::task<> {
      auto consumer = bg::spawn(mpsc_consumer(rx, t));
      std::vector<bg::join_handle<void>> hs;
      for (int p = 0; p < task_producers; ++p) {
        hs.push_back(bg::spawn(mpsc_producer(tx, p, per_producer)));
      }
      for (int v = 0; v < victims; ++v) {
        auto h = bg::spawn(mpsc_producer(tx, task_producers + thread_producers + v, per_producer));
        for (int i = 0; i < 1 + v % 5; ++i) co_await bg::yield_now();
        h.abort();
        try {
          co_await h;
        } catch (const bg::cancelled&) {
        }
      }
      { auto gone = std::move(tx); }
      for (auto& h : hs) co_await h;
      // Ends once the plain threads' senders are gone too.
      co_await consumer;
    };
    auto sender = std::move(chan.sender);
    rt.block_on(body(std::move(sender), chan.receiver, tally));
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(tally.out_of_order, 0);
  EXPECT_LE(tally.max_size, capacity);
  long expected_min = long{task_producers + thread_producers} * per_producer;
  EXPECT_GE(tally.received, expected_min);
  // Each victim delivered a prefix of its sequence: the tally's next[] for it.
  long victims_delivered = 0;
  for (std::size_t p = task_producers + thread_producers; p < tally.next.size(); ++p) {
    victims_delivered += tally.next[p];
  }
  EXPECT_EQ(tally.received, expected_min + victims_delivered) << "lost or duplicated messages";
  EXPECT_EQ(counted::alive(), 0);
}

TEST_P(ChannelStress, UnboundedMpscPingPongWithAThread) {
  constexpr int rounds = 5000;
  auto up = ch::unbounded_mpsc<int>();
  auto down = ch::unbounded_mpsc<int>();
  bg::runtime rt{options()};
  std::thread echo([&rx = up.receiver, tx = std::move(down.sender)]() mutable {
    while (auto v = rx.blocking_recv()) EXPECT_TRUE(tx.blocking_send(*v + 1));
  });
  auto body = [](ch::mpsc_sender<int>& tx, ch::mpsc_receiver<int>& rx) -> bg::task<int> {
    int v = 0;
    for (int i = 0; i < rounds; ++i) {
      EXPECT_TRUE(co_await tx.send(v));
      auto r = co_await rx.recv();
      if (!r) co_return -1;
      v = *r;
    }
    co_return v;
  };
  EXPECT_EQ(rt.block_on(body(up.sender, down.receiver)), rounds);
  { auto gone = std::move(up.sender); }
  echo.join();
}

// ---- oneshot ----------------------------------------------------------------

bg::task<int> oneshot_chain(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) {
    auto [tx, rx] = ch::oneshot<int>();
    auto sender = [](ch::oneshot_sender<int> t, int v) -> bg::task<> {
      co_await bg::yield_now();
      t.send(v);
    };
    bg::spawn(sender(std::move(tx), i)).detach();
    sum += co_await rx;
  }
  co_return sum;
}

TEST_P(ChannelStress, OneshotBetweenTasksAndThreads) {
  constexpr int n = 12000;
  bg::runtime rt{options()};
  // Tasks to tasks.
  auto body = []() -> bg::task<long> {
    std::vector<bg::join_handle<int>> hs;
    for (int t = 0; t < 4; ++t) hs.push_back(bg::spawn(oneshot_chain(n / 4)));
    long total = 0;
    for (auto& h : hs) total += co_await h;
    co_return total;
  };
  EXPECT_EQ(rt.block_on(body()), 4L * ((n / 4) * (n / 4 - 1) / 2));
  // Threads to tasks, tasks to threads, and dropped senders.
  std::atomic<int> closed{0};
  std::thread th([&] {
    for (int i = 0; i < n / 4; ++i) {
      auto [tx, rx] = ch::oneshot<int>();
      auto h = rt.spawn([](ch::oneshot_sender<int> t, int v) -> bg::task<> {
        if (v % 5 == 0) co_return;  // dropped unsent
        t.send(v);
      }(std::move(tx), i));
      h.detach();
      try {
        EXPECT_EQ(rx.blocking_recv(), i);
      } catch (const ch::closed_error&) {
        closed.fetch_add(1);
      }
    }
  });
  th.join();
  EXPECT_EQ(closed.load(), (n / 4 + 4) / 5);
}

// ---- broadcast --------------------------------------------------------------

struct bcast_tally {
  long values = 0;
  long missed = 0;
  int disorder = 0;
};

bg::task<> bcast_follow(ch::broadcast_receiver<int> rx, bcast_tally& t) {
  int last = -1;
  for (;;) {
    auto r = co_await rx.recv();
    if (r.is_closed()) break;
    if (r.is_lagged()) {
      t.missed += static_cast<long>(r.missed());
      continue;
    }
    if (*r <= last) ++t.disorder;
    last = *r;
    ++t.values;
  }
}

TEST_P(ChannelStress, BroadcastFanOutWithLag) {
  constexpr int total = 20000;
  constexpr int task_receivers = 3;
  std::vector<bcast_tally> tallies(task_receivers + 1);
  {
    auto chan = ch::broadcast<int>(16);
    bg::runtime rt{options()};
    std::vector<ch::broadcast_receiver<int>> rxs;
    for (int i = 0; i < task_receivers; ++i) rxs.push_back(chan.sender.subscribe());
    std::thread reader([rx = std::move(chan.receiver), &t = tallies[task_receivers]]() mutable {
      int last = -1;
      for (;;) {
        auto r = rx.blocking_recv();
        if (r.is_closed()) break;
        if (r.is_lagged()) {
          t.missed += static_cast<long>(r.missed());
          continue;
        }
        if (*r <= last) ++t.disorder;
        last = *r;
        ++t.values;
      }
    });
    auto body = [](ch::broadcast_sender<int> tx, std::vector<ch::broadcast_receiver<int>>& rs,
                   std::vector<bcast_tally>& ts) -> bg::task<> {
      std::vector<bg::join_handle<void>> hs;
      for (std::size_t i = 0; i < rs.size(); ++i) {
        hs.push_back(bg::spawn(bcast_follow(std::move(rs[i]), ts[i])));
      }
      for (int v = 0; v < total; ++v) {
        EXPECT_TRUE(tx.send(v));
        if (v % 8 == 0) co_await bg::yield_now();
      }
      { auto gone = std::move(tx); }
      for (auto& h : hs) co_await h;
    };
    auto tx = std::move(chan.sender);
    rt.block_on(body(std::move(tx), rxs, tallies));
    reader.join();
  }
  for (const bcast_tally& t : tallies) {
    EXPECT_EQ(t.disorder, 0);
    EXPECT_EQ(t.values + t.missed, total) << "every value is read or reported missed";
  }
}

// ---- watch ------------------------------------------------------------------

TEST_P(ChannelStress, WatchLatestValueWins) {
  constexpr int total = 30000;
  auto chan = ch::watch<int>(0);
  bg::runtime rt{options()};
  std::atomic<int> thread_last{0};
  std::thread follower([rx = chan.receiver, &thread_last]() mutable {
    int last = 0;
    while (rx.blocking_changed()) {
      const int v = rx.borrow();
      EXPECT_GE(v, last);
      last = v;
    }
    thread_last.store(rx.borrow());
  });
  auto follow = [](ch::watch_receiver<int> rx) -> bg::task<int> {
    int last = 0;
    while (co_await rx.changed()) {
      const int v = rx.borrow();
      EXPECT_GE(v, last);
      last = v;
    }
    co_return rx.borrow();
  };
  auto body = [](ch::watch_sender<int> tx, ch::watch_receiver<int> rx,
                 decltype(follow) f) -> bg::task<int> {
    std::vector<bg::join_handle<int>> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(bg::spawn(f(rx)));
    for (int v = 1; v <= total; ++v) {
      tx.send(v);
      if (v % 16 == 0) co_await bg::yield_now();
    }
    { auto gone = std::move(tx); }
    int min_last = total;
    for (auto& h : hs) min_last = std::min(min_last, co_await h);
    co_return min_last;
  };
  auto tx = std::move(chan.sender);
  EXPECT_EQ(rt.block_on(body(std::move(tx), chan.receiver, follow)), total);
  follower.join();
  EXPECT_EQ(thread_last.load(), total);
}

}  // namespace
