// brigade::channel::mpsc / unbounded_mpsc: order, backpressure, closing,
// cancellation, threads.
#include <brigade/channel/mpsc.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/counted.hpp"
#include "support/helpers.hpp"

#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;
using bg::testing::counted;
using bg::testing::until;

namespace {

bg::task<bool> send_one(ch::mpsc_sender<int> tx, int v) {
  co_return co_await tx.send(std::move(v));
}

bg::task<int> send_counted(ch::mpsc_sender<counted>& tx, int v) {
  counted c{v};
  const bool ok = co_await tx.send(std::move(c));
  co_return ok ? v : -1;
}

bg::task<std::vector<int>> drain(ch::mpsc_receiver<int>& rx) {
  std::vector<int> out;
  while (auto v = co_await rx.recv()) out.push_back(*v);
  co_return out;
}

bg::task<> produce(ch::mpsc_sender<int> tx, int first, int count) {
  for (int i = 0; i < count; ++i) {
    if (!co_await tx.send(first + i)) co_return;
  }
}

}  // namespace

BRIGADE_TEST(Mpsc, MessagesArriveInOrder) {
  auto [tx, rx] = ch::mpsc<int>(4);
  auto consumer = bg::spawn(drain(rx));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(co_await tx.send(i));
  { auto gone = std::move(tx); }
  const std::vector<int> got = co_await consumer;
  BRIGADE_CO_ASSERT(got.size() == 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
}

BRIGADE_TEST(Mpsc, CapacityZeroIsRejected) {
  EXPECT_THROW((void)ch::mpsc<int>(0), std::invalid_argument);
  co_return;
}

BRIGADE_TEST(Mpsc, FullChannelMakesTheSenderWait) {
  auto [tx, rx] = ch::mpsc<int>(2);
  EXPECT_EQ(tx.try_send(1), ch::try_send_result::sent);
  EXPECT_EQ(tx.try_send(2), ch::try_send_result::sent);
  int three = 3;
  EXPECT_EQ(tx.try_send(std::move(three)), ch::try_send_result::full);
  auto h = bg::spawn(send_one(tx, 3));
  co_await bg::testing::turns(3);
  EXPECT_FALSE(h.is_finished());
  EXPECT_EQ(rx.size(), 2u);
  EXPECT_EQ(*co_await rx.recv(), 1);  // makes room: the waiting value moves in
  EXPECT_TRUE(co_await h);
  EXPECT_EQ(rx.size(), 2u);
  EXPECT_EQ(*co_await rx.recv(), 2);
  EXPECT_EQ(*co_await rx.recv(), 3);
}

BRIGADE_TEST_CURRENT_THREAD(Mpsc, WaitingSendersAreServedInFifoOrder) {
  // One thread, FIFO run queue: the senders run, and queue, in spawn order.
  auto [tx, rx] = ch::mpsc<int>(1);
  EXPECT_EQ(tx.try_send(-1), ch::try_send_result::sent);
  std::vector<bg::join_handle<bool>> hs;
  for (int i = 0; i < 1000; ++i) hs.push_back(bg::spawn(send_one(tx, i)));
  co_await bg::testing::turns(2);
  for (auto& h : hs) EXPECT_FALSE(h.is_finished());
  EXPECT_EQ(*co_await rx.recv(), -1);
  for (int i = 0; i < 1000; ++i) {
    auto v = co_await rx.recv();
    BRIGADE_CO_ASSERT(v.has_value());
    EXPECT_EQ(*v, i);
  }
  for (auto& h : hs) EXPECT_TRUE(co_await h);
}

BRIGADE_TEST(Mpsc, EndComesAfterTheLastSenderAndTheBuffer) {
  auto [tx, rx] = ch::mpsc<int>(8);
  auto tx2 = tx;  // a copy is a sender too
  EXPECT_TRUE(co_await tx.send(1));
  { auto gone = std::move(tx); }
  EXPECT_FALSE(rx.is_closed());
  EXPECT_TRUE(co_await tx2.send(2));
  { auto gone = std::move(tx2); }
  EXPECT_TRUE(rx.is_closed());
  EXPECT_EQ(*co_await rx.recv(), 1);
  EXPECT_EQ(*co_await rx.recv(), 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());
  EXPECT_FALSE(rx.try_recv().has_value());
}

BRIGADE_TEST(Mpsc, WaitingReceiverSeesTheEnd) {
  auto [tx, rx] = ch::mpsc<int>(8);
  auto consumer = bg::spawn(drain(rx));
  co_await bg::testing::turns(3);
  { auto gone = std::move(tx); }
  EXPECT_TRUE((co_await consumer).empty());
}

BRIGADE_TEST(Mpsc, CloseFailsWaitingAndLaterSendsKeepingTheValue) {
  auto [tx, rx] = ch::mpsc<std::unique_ptr<int>>(1);
  EXPECT_EQ(tx.try_send(std::make_unique<int>(1)), ch::try_send_result::sent);
  auto waiting = [](ch::mpsc_sender<std::unique_ptr<int>>& t) -> bg::task<int> {
    auto p = std::make_unique<int>(2);
    const bool ok = co_await t.send(std::move(p));
    co_return ok ? -1 : (p ? *p : -2);  // not sent: still ours
  };
  auto h = bg::spawn(waiting(tx));
  co_await bg::testing::turns(3);
  rx.close();
  EXPECT_EQ(co_await h, 2);
  EXPECT_TRUE(tx.is_closed());
  auto p = std::make_unique<int>(3);
  EXPECT_FALSE(co_await tx.send(std::move(p)));
  BRIGADE_CO_ASSERT(p != nullptr);
  EXPECT_EQ(tx.try_send(std::move(p)), ch::try_send_result::closed);
  BRIGADE_CO_ASSERT(p != nullptr);
  auto first = co_await rx.recv();  // buffered before close: still delivered
  BRIGADE_CO_ASSERT(first.has_value());
  EXPECT_EQ(**first, 1);
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

BRIGADE_TEST(Mpsc, DroppedReceiverDestroysBufferedMessages) {
  counted::reset();
  {
    auto [tx, rx] = ch::mpsc<counted>(4);
    EXPECT_EQ(tx.try_send(counted{1}), ch::try_send_result::sent);
    EXPECT_EQ(tx.try_send(counted{2}), ch::try_send_result::sent);
    { auto gone = std::move(rx); }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_TRUE(tx.is_closed());
    EXPECT_FALSE(co_await tx.send(counted{3}));
  }
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST(Mpsc, AbortedSendLeavesTheValueWithTheCaller) {
  auto [tx, rx] = ch::mpsc<std::unique_ptr<int>>(1);
  EXPECT_EQ(tx.try_send(std::make_unique<int>(1)), ch::try_send_result::sent);
  auto body = [](ch::mpsc_sender<std::unique_ptr<int>>& t, int& kept) -> bg::task<> {
    auto p = std::make_unique<int>(2);
    try {
      (void)co_await t.send(std::move(p));
    } catch (const bg::cancelled&) {
      kept = p ? *p : -1;
      throw;
    }
  };
  int kept = 0;
  auto h = bg::spawn(body(tx, kept));
  co_await bg::testing::turns(3);
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(kept, 2);
  EXPECT_EQ(rx.size(), 1u);
  EXPECT_EQ(**co_await rx.recv(), 1);
  EXPECT_FALSE(rx.try_recv().has_value()) << "the aborted value never entered";
}

BRIGADE_TEST(Mpsc, AbortedRecvLosesNoMessage) {
  for (int round = 0; round < 20; ++round) {
    auto [tx, rx] = ch::mpsc<int>(4);
    auto h = bg::spawn(drain(rx));
    co_await bg::testing::turns(2);
    h.abort();
    EXPECT_TRUE(co_await tx.send(round));  // races the abort
    std::vector<int> got;
    try {
      got = co_await h;
    } catch (const bg::cancelled&) {
    }
    if (got.empty()) {
      EXPECT_EQ(rx.try_recv().value_or(-1), round);
    } else {
      EXPECT_EQ(got.front(), round);
    }
  }
}

BRIGADE_TEST(Mpsc, CancelSweepOverQueuedSenders) {
  // Abort the k-th of 6 senders queued on a full channel, then drain: each
  // value arrives exactly once except possibly the aborted one, which either
  // arrived (its send returned true) or stayed with its task; counted values
  // all die.
  constexpr int n = 6;
  for (int k = 0; k < n; ++k) {
    counted::reset();
    {
      auto [tx, rx] = ch::mpsc<counted>(1);
      EXPECT_EQ(tx.try_send(counted{100}), ch::try_send_result::sent);
      std::vector<bg::join_handle<int>> hs;
      for (int i = 0; i < n; ++i) hs.push_back(bg::spawn(send_counted(tx, i)));
      co_await bg::testing::turns(6);
      hs[static_cast<std::size_t>(k)].abort();
      // n of the n + 1 (k sent) or n (k withdrew) values: never waits forever.
      std::multiset<int> got;
      for (int i = 0; i < n; ++i) {
        auto v = co_await rx.recv();
        BRIGADE_CO_ASSERT(v.has_value());
        got.insert(v->value());
      }
      bool k_sent = false;
      for (int i = 0; i < n; ++i) {
        try {
          EXPECT_EQ(co_await hs[static_cast<std::size_t>(i)], i);
          if (i == k) k_sent = true;
        } catch (const bg::cancelled&) {
          EXPECT_EQ(i, k);
        }
      }
      while (auto v = rx.try_recv()) got.insert(v->value());
      EXPECT_EQ(got.count(100), 1u);
      for (int i = 0; i < n; ++i) {
        const std::size_t want = (i != k || k_sent) ? 1u : 0u;
        EXPECT_EQ(got.count(i), want) << "value " << i;
      }
    }
    EXPECT_EQ(counted::alive(), 0);
  }
}

BRIGADE_TEST(Mpsc, UnboundedNeverWaits) {
  auto [tx, rx] = ch::unbounded_mpsc<int>();
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(tx.try_send(i), ch::try_send_result::sent);
  }
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(co_await tx.send(i));
  EXPECT_EQ(rx.size(), 10100u);
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(*co_await rx.recv(), i);
}

BRIGADE_TEST(Mpsc, ManyProducersOneConsumer) {
  auto [tx, rx] = ch::mpsc<int>(8);
  for (int p = 0; p < 4; ++p) bg::spawn(produce(tx, p * 1000, 500)).detach();
  { auto gone = std::move(tx); }
  std::vector<int> last(4, -1);
  int count = 0;
  while (auto v = co_await rx.recv()) {
    const int p = *v / 1000;
    EXPECT_GT(*v, last[static_cast<std::size_t>(p)]) << "per-producer order";
    last[static_cast<std::size_t>(p)] = *v;
    ++count;
  }
  EXPECT_EQ(count, 2000);
}

BRIGADE_TEST(Mpsc, PlainThreadsBlockingSendAndRecv) {
  auto up = ch::mpsc<int>(2);
  auto down = ch::mpsc<int>(2);
  std::thread producer([tx = up.sender]() mutable {
    for (int i = 0; i < 300; ++i) EXPECT_TRUE(tx.blocking_send(i));
  });
  std::thread consumer([&rx = down.receiver] {
    int expect = 0;
    while (auto v = rx.blocking_recv()) EXPECT_EQ(*v, expect++);
    EXPECT_EQ(expect, 300);
  });
  { auto gone = std::move(up.sender); }
  {
    auto tx = std::move(down.sender);
    while (auto v = co_await up.receiver.recv()) EXPECT_TRUE(co_await tx.send(*v));
  }
  producer.join();
  consumer.join();
}

BRIGADE_TEST(Mpsc, BlockingCallsInsideARuntimeThrow) {
  auto [tx, rx] = ch::mpsc<int>(1);
  EXPECT_THROW((void)tx.blocking_send(1), std::logic_error);
  EXPECT_THROW((void)rx.blocking_recv(), std::logic_error);
  EXPECT_EQ(rx.size(), 0u);
  co_return;
}

TEST(Mpsc, ShutdownWithWaitingSendersAndReceiver) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    {
      auto full = ch::mpsc<counted>(1);
      auto empty = ch::mpsc<int>(1);
      {
        bg::runtime rt{bg::testing::options_for(f)};
        EXPECT_EQ(full.sender.try_send(counted{0}), ch::try_send_result::sent);
        for (int i = 1; i <= 3; ++i) rt.spawn(send_counted(full.sender, i)).detach();
        rt.spawn(drain(empty.receiver)).detach();
        rt.block_on(bg::testing::turns(10));
        rt.shutdown();
      }
      EXPECT_EQ(full.receiver.size(), 1u);
      EXPECT_EQ(full.receiver.try_recv()->value(), 0);
      EXPECT_EQ(empty.sender.try_send(5), ch::try_send_result::sent);
    }
    EXPECT_EQ(counted::alive(), 0);
  });
}
