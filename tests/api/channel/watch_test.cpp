// brigade::channel::watch: latest value, versions, closing, cancellation.
#include <brigade/channel/watch.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/helpers.hpp"

#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;

namespace {

/// Follows the channel until the sender is gone; returns the values seen.
bg::task<std::vector<int>> follow(ch::watch_receiver<int> rx) {
  std::vector<int> seen;
  while (co_await rx.changed()) seen.push_back(rx.borrow());
  co_return seen;
}

}  // namespace

BRIGADE_TEST(Watch, BorrowSeesTheLatestValue) {
  auto [tx, rx] = ch::watch<std::string>("initial");
  EXPECT_EQ(rx.borrow(), "initial");
  EXPECT_FALSE(rx.has_changed()) << "the initial value counts as seen";
  EXPECT_TRUE(tx.send("one"));
  EXPECT_TRUE(tx.send("two"));
  EXPECT_TRUE(rx.has_changed());
  EXPECT_EQ(rx.borrow(), "two");  // latest wins
  EXPECT_TRUE(co_await rx.changed());
  EXPECT_FALSE(rx.has_changed());
  EXPECT_EQ(tx.borrow(), "two");
}

BRIGADE_TEST(Watch, ChangedWaitsForASend) {
  auto [tx, rx] = ch::watch<int>(0);
  auto h = bg::spawn(follow(rx));
  co_await bg::testing::turns(3);
  EXPECT_FALSE(h.is_finished());
  EXPECT_TRUE(tx.send(5));
  { auto gone = std::move(tx); }
  const std::vector<int> seen = co_await h;
  BRIGADE_CO_ASSERT(seen.size() == 1u);
  EXPECT_EQ(seen[0], 5);
}

BRIGADE_TEST(Watch, ChangedReturnsFalseOnceTheSenderIsGone) {
  auto [tx, rx] = ch::watch<int>(1);
  EXPECT_TRUE(tx.send(2));
  { auto gone = std::move(tx); }
  EXPECT_TRUE(co_await rx.changed());  // the unseen version first
  EXPECT_EQ(rx.borrow(), 2);
  EXPECT_FALSE(co_await rx.changed());
}

BRIGADE_TEST(Watch, SubscribersAndCopiesTrackTheirOwnVersions) {
  auto [tx, rx] = ch::watch<int>(0);
  EXPECT_TRUE(tx.send(1));
  auto sub = tx.subscribe();  // has seen version 1
  auto copy = rx;             // has seen version 0, like rx
  EXPECT_EQ(tx.receiver_count(), 3u);
  EXPECT_FALSE(sub.has_changed());
  EXPECT_TRUE(copy.has_changed());
  EXPECT_EQ(copy.borrow_and_update(), 1);
  EXPECT_FALSE(copy.has_changed());
  EXPECT_TRUE(rx.has_changed());
  co_return;
}

BRIGADE_TEST(Watch, SendWithoutReceiversStillStores) {
  auto [tx, rx] = ch::watch<int>(0);
  { auto gone = std::move(rx); }
  EXPECT_FALSE(tx.send(3));
  auto late = tx.subscribe();
  EXPECT_EQ(late.borrow(), 3);
  co_return;
}

BRIGADE_TEST(Watch, AbortedChangedMarksNothingSeen) {
  for (int round = 0; round < 20; ++round) {
    auto [tx, rx] = ch::watch<int>(0);
    auto waiter = [](ch::watch_receiver<int>& r) -> bg::task<bool> {
      co_return co_await r.changed();
    };
    auto h = bg::spawn(waiter(rx));
    co_await bg::testing::turns(2);
    h.abort();
    EXPECT_TRUE(tx.send(round + 1));  // races the abort
    try {
      EXPECT_TRUE(co_await h);
      EXPECT_FALSE(rx.has_changed());
    } catch (const bg::cancelled&) {
      EXPECT_TRUE(rx.has_changed()) << "an aborted changed() marks nothing seen";
    }
  }
}

BRIGADE_TEST(Watch, PlainThreadFollowsWithBlockingChanged) {
  auto chan = ch::watch<int>(0);
  int last = -1;
  std::thread th([&last, rx = chan.receiver]() mutable {
    while (rx.blocking_changed()) last = rx.borrow();
  });
  for (int i = 1; i <= 20; ++i) {
    EXPECT_TRUE(chan.sender.send(i));
    co_await bg::yield_now();
  }
  { auto gone = std::move(chan.sender); }
  th.join();
  EXPECT_EQ(last, 20);
}

BRIGADE_TEST(Watch, BlockingChangedInsideARuntimeThrows) {
  auto [tx, rx] = ch::watch<int>(0);
  EXPECT_THROW((void)rx.blocking_changed(), std::logic_error);
  co_return;
}

TEST(Watch, ShutdownWithWaitingReceivers) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    auto chan = ch::watch<int>(0);
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 3; ++i) rt.spawn(follow(chan.receiver)).detach();
      rt.block_on(bg::testing::turns(10));
      rt.shutdown();
    }
    EXPECT_EQ(chan.sender.receiver_count(), 1u);
    EXPECT_TRUE(chan.sender.send(1));
  });
}
