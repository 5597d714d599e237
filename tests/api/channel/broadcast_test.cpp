// brigade::channel::broadcast: fan-out, lag, closing, cancellation, threads.
#include <brigade/channel/broadcast.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/counted.hpp"
#include "support/helpers.hpp"

#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;
using bg::testing::counted;

namespace {

/// Receives until closed; records values, and -missed for each lag.
bg::task<std::vector<long>> collect(ch::broadcast_receiver<int> rx) {
  std::vector<long> out;
  for (;;) {
    auto r = co_await rx.recv();
    if (r.is_closed()) break;
    if (r.is_lagged()) {
      out.push_back(-static_cast<long>(r.missed()));
    } else {
      out.push_back(*r);
    }
  }
  co_return out;
}

}  // namespace

BRIGADE_TEST(Broadcast, EveryReceiverSeesEveryValue) {
  auto [tx, rx] = ch::broadcast<int>(16);
  std::vector<bg::join_handle<std::vector<long>>> hs;
  hs.push_back(bg::spawn(collect(std::move(rx))));
  for (int i = 0; i < 3; ++i) hs.push_back(bg::spawn(collect(tx.subscribe())));
  EXPECT_EQ(tx.receiver_count(), 4u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(tx.send(i));
  { auto gone = std::move(tx); }
  for (auto& h : hs) {
    const std::vector<long> got = co_await h;
    BRIGADE_CO_ASSERT(got.size() == 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
  }
}

BRIGADE_TEST(Broadcast, LaggingReceiverLearnsHowManyItMissed) {
  auto [tx, rx] = ch::broadcast<int>(4);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(tx.send(i));
  auto r = co_await rx.recv();
  EXPECT_TRUE(r.is_lagged());
  EXPECT_EQ(r.missed(), 6u);  // 0..5 overwritten; 6..9 retained
  for (int i = 6; i < 10; ++i) {
    auto v = co_await rx.recv();
    BRIGADE_CO_ASSERT(v.has_value());
    EXPECT_EQ(*v, i);
  }
  EXPECT_TRUE(rx.try_recv().is_empty());
}

BRIGADE_TEST(Broadcast, SubscribeSeesOnlyLaterValues) {
  auto [tx, rx] = ch::broadcast<std::string>(8);
  EXPECT_TRUE(tx.send(std::string("before")));
  auto late = tx.subscribe();
  EXPECT_TRUE(tx.send(std::string("after")));
  EXPECT_EQ(*late.try_recv(), "after");
  EXPECT_EQ(*rx.try_recv(), "before");
  EXPECT_EQ(*rx.try_recv(), "after");
  co_return;
}

BRIGADE_TEST(Broadcast, SendWithoutReceiversKeepsTheValue) {
  auto [tx, rx] = ch::broadcast<std::string>(2);
  { auto gone = std::move(rx); }
  std::string v = "kept";
  EXPECT_FALSE(tx.send(std::move(v)));
  EXPECT_EQ(v, "kept");
  co_return;
}

BRIGADE_TEST(Broadcast, ClosedAfterTheRetainedValues) {
  auto [tx, rx] = ch::broadcast<int>(4);
  auto tx2 = tx;
  EXPECT_TRUE(tx.send(1));
  { auto gone = std::move(tx); }
  EXPECT_TRUE(tx2.send(2));
  { auto gone = std::move(tx2); }
  EXPECT_EQ(*co_await rx.recv(), 1);
  EXPECT_EQ(*co_await rx.recv(), 2);
  EXPECT_TRUE((co_await rx.recv()).is_closed());
}

BRIGADE_TEST(Broadcast, CapacityZeroIsRejected) {
  EXPECT_THROW((void)ch::broadcast<int>(0), std::invalid_argument);
  co_return;
}

BRIGADE_TEST(Broadcast, AbortedRecvReadsNothing) {
  for (int round = 0; round < 20; ++round) {
    auto [tx, rx] = ch::broadcast<int>(4);
    auto waiter = [](ch::broadcast_receiver<int>& r) -> bg::task<int> {
      auto v = co_await r.recv();
      co_return *v;
    };
    auto h = bg::spawn(waiter(rx));
    co_await bg::testing::turns(2);
    h.abort();
    EXPECT_TRUE(tx.send(round));  // races the abort
    try {
      EXPECT_EQ(co_await h, round);
      EXPECT_TRUE(rx.try_recv().is_empty());
    } catch (const bg::cancelled&) {
      EXPECT_EQ(*rx.try_recv(), round) << "the aborted recv did not move the cursor";
    }
  }
}

BRIGADE_TEST(Broadcast, OverwrittenValuesAreDestroyed) {
  counted::reset();
  {
    auto [tx, rx] = ch::broadcast<counted>(2);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(tx.send(counted{i}));
    EXPECT_EQ(counted::alive(), 2);  // only the retained two
  }
  EXPECT_EQ(counted::alive(), 0);
  co_return;
}

BRIGADE_TEST(Broadcast, PlainThreadReceivesWithBlockingRecv) {
  auto chan = ch::broadcast<int>(64);
  std::vector<int> got;
  std::thread th([&got, rx = std::move(chan.receiver)]() mutable {
    for (;;) {
      auto r = rx.blocking_recv();
      if (r.is_closed()) break;
      if (r.has_value()) got.push_back(*r);
    }
  });
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(chan.sender.send(i));
    co_await bg::yield_now();
  }
  { auto gone = std::move(chan.sender); }
  th.join();
  BRIGADE_CO_ASSERT(got.size() == 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
}

BRIGADE_TEST(Broadcast, BlockingRecvInsideARuntimeThrows) {
  auto [tx, rx] = ch::broadcast<int>(1);
  EXPECT_THROW((void)rx.blocking_recv(), std::logic_error);
  co_return;
}

TEST(Broadcast, ShutdownWithWaitingReceivers) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    auto chan = ch::broadcast<int>(4);
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 3; ++i) rt.spawn(collect(chan.sender.subscribe())).detach();
      rt.block_on(bg::testing::turns(10));
      rt.shutdown();
    }
    EXPECT_EQ(chan.sender.receiver_count(), 1u);  // the shut-down ones dropped theirs
    EXPECT_TRUE(chan.sender.send(1));
    EXPECT_EQ(*chan.receiver.try_recv(), 1);
  });
}
