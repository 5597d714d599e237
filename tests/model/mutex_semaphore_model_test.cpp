// Model check of brigade::mutex (a lock-free fast path on its state word, a
// waiter list behind it) and brigade::semaphore on plain threads:
// blocking_lock / try_lock and blocking_acquire / try_acquire racing
// releases. Mutual exclusion (at most `permits` holders) holds at every
// step, and no waiter is left asleep (a lost wake-up is a deadlock).

#include "model/model.hpp"

#include <brigade/sync/mutex.hpp>
#include <brigade/sync/semaphore.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <vector>

namespace {

namespace model = brigade::model;
using brigade::detail::atomic;

/// A critical section with scheduling points inside: a second holder would
/// be seen.
void critical_section(atomic<int>& inside, int limit, std::vector<int>& order, int who) {
  MODEL_CHECK(inside.fetch_add(1) < limit);
  order.push_back(who);
  inside.fetch_sub(1);
}

TEST(ModelMutex, TwoBlockingLockersAndATryLock) {
  std::set<std::vector<int>> orders;
  std::set<bool> try_results;
  std::set<bool> slept;
  const model::report r = model::explore({}, [&] {
    brigade::mutex m;
    atomic<int> inside{0};
    std::vector<int> order;
    const auto locker = [&](int who) {
      auto g = m.blocking_lock();
      critical_section(inside, 1, order, who);
    };
    const std::uint64_t blocks_before = model::blocks();
    model::thread a([&] { locker(1); });
    model::thread b([&] { locker(2); });
    bool got = false;
    if (std::optional<brigade::mutex::guard> g = m.try_lock()) {
      got = true;
      critical_section(inside, 1, order, 3);
    }
    a.join();
    b.join();
    MODEL_CHECK(!m.is_locked());
    MODEL_CHECK(m.waiters() == 0);
    MODEL_CHECK(order.size() == (got ? 3u : 2u));
    orders.insert(order);
    try_results.insert(got);
    slept.insert(model::blocks() > blocks_before);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(try_results, (std::set<bool>{false, true}));
  EXPECT_EQ(slept, (std::set<bool>{false, true})) << "the slow path (a sleeping locker) is reached";
  EXPECT_TRUE(orders.count({1, 2}) == 1 && orders.count({2, 1}) == 1);
}

TEST(ModelSemaphore, ThreeAcquirersTwoPermits) {
  std::set<bool> slept;
  std::set<std::vector<int>> orders;
  const model::report r = model::explore({}, [&] {
    brigade::semaphore s(2);
    atomic<int> inside{0};
    std::vector<int> order;
    const auto acquirer = [&](int who) {
      auto p = s.blocking_acquire(1);
      critical_section(inside, 2, order, who);
    };
    const std::uint64_t blocks_before = model::blocks();
    model::thread a([&] { acquirer(1); });
    model::thread b([&] { acquirer(2); });
    acquirer(3);
    a.join();
    b.join();
    MODEL_CHECK(s.available_permits() == 2);
    MODEL_CHECK(s.waiters() == 0);
    MODEL_CHECK(order.size() == 3);
    slept.insert(model::blocks() > blocks_before);
    orders.insert(order);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(slept, (std::set<bool>{false, true}));
  EXPECT_EQ(orders.size(), 6u) << "every order of the three holders is reachable";
}

}  // namespace
