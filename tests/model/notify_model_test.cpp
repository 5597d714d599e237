// Model check of brigade::notify on plain threads: notify_one storing a
// permit vs a waiter arriving, notify_all waking every waiter. A lost
// wake-up leaves a waiter blocked with nobody to wake it: the explorer
// reports it as a deadlock.

#include "model/model.hpp"

#include <brigade/sync/notify.hpp>

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace {

namespace model = brigade::model;

TEST(ModelNotify, NotifyOneRacesAWaiter) {
  std::set<bool> waited;
  const model::report r = model::explore({}, [&] {
    brigade::notify n;
    model::thread notifier([&] { n.notify_one(); });
    const std::uint64_t blocks_before = model::blocks();
    n.blocking_notified();  // consumes the permit or is woken
    notifier.join();
    MODEL_CHECK(n.waiters() == 0);
    waited.insert(model::blocks() > blocks_before);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  // The permit was stored and consumed, or the waiter slept and was woken.
  EXPECT_EQ(waited, (std::set<bool>{false, true}));
}

// Two notify_one calls and two waiters, with the second notify issued only
// once the first one was consumed (permits do not accumulate): both waiters
// return, in either order.
TEST(ModelNotify, TwoNotifyOneWakeTwoWaiters) {
  std::set<std::vector<int>> orders;
  const model::report r = model::explore({}, [&] {
    brigade::notify n;
    brigade::detail::atomic<int> done{0};
    std::vector<int> order;
    const auto wait = [&](int who) {
      n.blocking_notified();
      order.push_back(who);
      done.fetch_add(1);
    };
    model::thread a([&] { wait(1); });
    model::thread b([&] { wait(2); });
    n.notify_one();
    while (done.load() == 0) model::yield();
    n.notify_one();
    a.join();
    b.join();
    MODEL_CHECK(order.size() == 2);
    orders.insert(order);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(orders, (std::set<std::vector<int>>{{1, 2}, {2, 1}}));
}

// notify_all wakes every waiter that is linked; it stores no permit, so the
// notifier issues it once both wait.
TEST(ModelNotify, NotifyAllWakesEveryWaiter) {
  std::set<std::vector<int>> orders;
  const model::report r = model::explore({}, [&] {
    brigade::notify n;
    std::vector<int> order;
    model::thread a([&] {
      n.blocking_notified();
      order.push_back(1);
    });
    model::thread b([&] {
      n.blocking_notified();
      order.push_back(2);
    });
    while (n.waiters() < 2) model::yield();
    n.notify_all();
    a.join();
    b.join();
    MODEL_CHECK(order.size() == 2);
    MODEL_CHECK(n.waiters() == 0);
    orders.insert(order);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(orders, (std::set<std::vector<int>>{{1, 2}, {2, 1}}));
}

}  // namespace
