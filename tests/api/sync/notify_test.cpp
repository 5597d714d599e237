// brigade::notify: notify_one / notify_all, the stored permit, cancellation.
#include <brigade/sync/notify.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/counted.hpp"
#include "support/helpers.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::until;

namespace {

bg::task<int> wait_once(bg::notify& n, std::atomic<int>& woken, int id) {
  counted c{id};
  co_await n.notified();
  woken.fetch_add(1);
  co_return id;
}

}  // namespace

BRIGADE_TEST(Notify, StoredPermitIsConsumedWithoutWaiting) {
  bg::notify n;
  n.notify_one();
  n.notify_one();  // at most one permit is stored
  const auto polls = bg::current_runtime().metrics().polls;
  co_await n.notified();
  EXPECT_EQ(bg::current_runtime().metrics().polls, polls) << "no suspension";
  std::atomic<int> woken{0};
  auto h = bg::spawn(wait_once(n, woken, 1));
  co_await until([&] { return n.waiters() == 1; });
  EXPECT_EQ(woken.load(), 0) << "the second notify_one stored nothing more";
  n.notify_one();
  EXPECT_EQ(co_await h, 1);
}

BRIGADE_TEST(Notify, NotifyOneWakesTheFirstWaiterOnly) {
  bg::notify n;
  std::atomic<int> woken{0};
  auto a = bg::spawn(wait_once(n, woken, 1));
  co_await until([&] { return n.waiters() == 1; });
  auto b = bg::spawn(wait_once(n, woken, 2));
  co_await until([&] { return n.waiters() == 2; });
  n.notify_one();
  EXPECT_EQ(co_await a, 1);
  EXPECT_EQ(n.waiters(), 1u);
  EXPECT_FALSE(b.is_finished());
  n.notify_one();
  EXPECT_EQ(co_await b, 2);
}

BRIGADE_TEST(Notify, NotifyAllWakesCurrentWaitersAndStoresNothing) {
  bg::notify n;
  std::atomic<int> woken{0};
  std::vector<bg::join_handle<int>> hs;
  for (int i = 0; i < 5; ++i) {
    hs.push_back(bg::spawn(wait_once(n, woken, i)));
    const auto want = static_cast<std::size_t>(i) + 1;
    co_await until([&] { return n.waiters() == want; });
  }
  n.notify_all();
  for (auto& h : hs) co_await h;
  EXPECT_EQ(woken.load(), 5);
  auto late = bg::spawn(wait_once(n, woken, 9));
  co_await until([&] { return n.waiters() == 1; });
  EXPECT_FALSE(late.is_finished()) << "notify_all stored no permit";
  n.notify_one();
  EXPECT_EQ(co_await late, 9);
}

BRIGADE_TEST(Notify, AbortedWaiterIsWithdrawn) {
  counted::reset();
  bg::notify n;
  std::atomic<int> woken{0};
  auto h = bg::spawn(wait_once(n, woken, 1));
  co_await until([&] { return n.waiters() == 1; });
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(n.waiters(), 0u);
  n.notify_one();  // nobody waits: stored
  co_await n.notified();
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST_CURRENT_THREAD(Notify, NotifyOneToAnAbortedWaiterIsPassedOn) {
  bg::notify n;
  std::atomic<int> woken{0};
  auto first = bg::spawn(wait_once(n, woken, 1));
  co_await until([&] { return n.waiters() == 1; });
  auto second = bg::spawn(wait_once(n, woken, 2));
  co_await until([&] { return n.waiters() == 2; });
  n.notify_one();  // delivered to `first`, which has not run yet
  first.abort();
  EXPECT_THROW(co_await first, bg::cancelled);
  EXPECT_EQ(co_await second, 2);
  EXPECT_EQ(woken.load(), 1);
}

BRIGADE_TEST(Notify, CancelSweepNeverSwallowsANotifyOne) {
  // Abort waiter k of 5 while notify_one() x5 races the abort: the
  // notifications still reach every other waiter (one is stored if the
  // aborted waiter gave its own back).
  constexpr int count = 5;
  for (int k = 0; k < count; ++k) {
    counted::reset();
    bg::notify n;
    std::atomic<int> woken{0};
    std::vector<bg::join_handle<int>> hs;
    for (int i = 0; i < count; ++i) {
      hs.push_back(bg::spawn(wait_once(n, woken, i)));
      const auto want = static_cast<std::size_t>(i) + 1;
      co_await until([&] { return n.waiters() == want; });
    }
    hs[static_cast<std::size_t>(k)].abort();
    for (int i = 0; i < count; ++i) n.notify_one();
    int finished = 0;
    for (int i = 0; i < count; ++i) {
      try {
        EXPECT_EQ(co_await hs[static_cast<std::size_t>(i)], i);
        ++finished;
      } catch (const bg::cancelled&) {
        EXPECT_EQ(i, k);
      }
    }
    EXPECT_EQ(finished, count - 1);
    EXPECT_EQ(n.waiters(), 0u);
    EXPECT_EQ(counted::alive(), 0);
  }
}

BRIGADE_TEST(Notify, PlainThreadWaitsAndNotifies) {
  bg::notify to_thread;
  bg::notify to_task;
  std::thread th([&] {
    for (int i = 0; i < 100; ++i) {
      to_thread.blocking_notified();
      to_task.notify_one();
    }
  });
  for (int i = 0; i < 100; ++i) {
    to_thread.notify_one();
    co_await to_task.notified();
  }
  th.join();
  EXPECT_EQ(to_thread.waiters(), 0u);
}

BRIGADE_TEST(Notify, BlockingNotifiedInsideARuntimeThrows) {
  bg::notify n;
  n.notify_one();
  EXPECT_THROW(n.blocking_notified(), std::logic_error);
  co_await n.notified();  // the permit is still there
}

TEST(Notify, NotifiedOutsideATaskThrows) {
  bg::notify n;
  std::exception_ptr error;
  auto outside = [](std::exception_ptr&, bg::notify& nt) -> bg::testing::eager {
    co_await nt.notified();
  };
  outside(error, n);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
}

TEST(Notify, ShutdownUnlinksWaiters) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    bg::notify n;
    std::atomic<int> woken{0};
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 3; ++i) rt.spawn(wait_once(n, woken, i)).detach();
      rt.block_on(until([&] { return n.waiters() == 3; }));
      rt.shutdown();
    }
    EXPECT_EQ(n.waiters(), 0u);
    EXPECT_EQ(woken.load(), 0);
    EXPECT_EQ(counted::alive(), 0);
  });
}
