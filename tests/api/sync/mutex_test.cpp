// brigade::mutex: semantics, FIFO hand-over, cancellation, threads.
#include <brigade/sync/mutex.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/spawn_blocking.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::until;

namespace {

bg::task<int> lock_and_record(bg::mutex& m, std::vector<int>& order, int id) {
  auto g = co_await m.lock();
  order.push_back(id);
  co_return id;
}

bg::task<int> lock_and_hold(bg::mutex& m, bg::testing::manual_event& release, int id) {
  counted c{id};
  auto g = co_await m.lock();
  co_await release.wait();
  co_return id;
}

bg::task<> increment_many(bg::mutex& m, long& counter, int n) {
  for (int i = 0; i < n; ++i) {
    auto g = co_await m.lock();
    const long v = counter;
    if (i % 7 == 0) co_await bg::yield_now();  // hold across a suspension
    counter = v + 1;
  }
}

}  // namespace

BRIGADE_TEST(Mutex, LockUnlockUncontended) {
  bg::mutex m;
  EXPECT_FALSE(m.is_locked());
  {
    auto g = co_await m.lock();
    EXPECT_TRUE(g.owns_lock());
    EXPECT_EQ(g.owner(), &m);
    EXPECT_TRUE(m.is_locked());
  }
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, TryLockFailsWhileHeld) {
  bg::mutex m;
  auto g = m.try_lock();
  BRIGADE_CO_ASSERT(g.has_value());
  EXPECT_FALSE(m.try_lock().has_value());
  g->unlock();
  EXPECT_FALSE(g->owns_lock());
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock().has_value());
  co_return;
}

BRIGADE_TEST(Mutex, GuardMovesOwnership) {
  bg::mutex m;
  auto a = co_await m.lock();
  bg::mutex::guard b = std::move(a);
  EXPECT_FALSE(a.owns_lock());
  EXPECT_TRUE(b.owns_lock());
  bg::mutex other;
  auto c = co_await other.lock();
  c = std::move(b);  // releases `other`, takes over `m`
  EXPECT_FALSE(other.is_locked());
  EXPECT_TRUE(m.is_locked());
  c.unlock();
  c.unlock();  // idempotent
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, ContendedTasksExcludeEachOther) {
  bg::mutex m;
  long counter = 0;
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < 8; ++t) hs.push_back(bg::spawn(increment_many(m, counter, 200)));
  for (auto& h : hs) co_await h;
  EXPECT_EQ(counter, 8 * 200);
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, ThousandWaitersGetTheLockInFifoOrder) {
  bg::mutex m;
  std::vector<int> order;
  std::vector<bg::join_handle<int>> hs;
  {
    auto g = co_await m.lock();
    for (int i = 0; i < 1000; ++i) {
      hs.push_back(bg::spawn(lock_and_record(m, order, i)));
      const std::size_t want = static_cast<std::size_t>(i) + 1;
      co_await until([&] { return m.waiters() == want; });
    }
  }
  for (auto& h : hs) co_await h;
  BRIGADE_CO_ASSERT(order.size() == 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, UnlockHandsOverEvenToALaterTryLock) {
  // FIFO hand-over: after unlock with a waiter queued, the lock is already
  // the waiter's, so a try_lock cannot barge in.
  bg::mutex m;
  std::vector<int> order;
  auto g = co_await m.lock();
  auto h = bg::spawn(lock_and_record(m, order, 1));
  co_await until([&] { return m.waiters() == 1; });
  g.unlock();
  EXPECT_FALSE(m.try_lock().has_value());
  EXPECT_EQ(co_await h, 1);
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, AbortedWaiterHoldsNoLock) {
  counted::reset();
  bg::mutex m;
  bg::testing::manual_event release;
  std::vector<int> order;
  auto g = co_await m.lock();
  auto aborted = bg::spawn(lock_and_hold(m, release, 7));
  co_await until([&] { return m.waiters() == 1; });
  auto next = bg::spawn(lock_and_record(m, order, 2));
  co_await until([&] { return m.waiters() == 2; });
  aborted.abort();
  EXPECT_THROW(co_await aborted, bg::cancelled);
  EXPECT_EQ(m.waiters(), 1u);
  g.unlock();
  EXPECT_EQ(co_await next, 2);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST(Mutex, AbortRacingTheHandOverPassesTheLockOn) {
  // unlock() hands the lock to `first`, then `first` is aborted before it
  // runs: its lock() must throw or deliver, and either way the lock goes on
  // to `second` and ends free.
  for (int round = 0; round < 50; ++round) {
    bg::mutex m;
    bg::testing::manual_event release;
    std::vector<int> order;
    auto g = co_await m.lock();
    auto first = bg::spawn(lock_and_hold(m, release, 1));
    co_await until([&] { return m.waiters() == 1; });
    auto second = bg::spawn(lock_and_record(m, order, 2));
    co_await until([&] { return m.waiters() == 2; });
    g.unlock();
    first.abort();
    release.set();
    try {
      EXPECT_EQ(co_await first, 1);  // won the race: got the lock, then ran on
    } catch (const bg::cancelled&) {
    }
    EXPECT_EQ(co_await second, 2);
    EXPECT_FALSE(m.is_locked());
    EXPECT_EQ(m.waiters(), 0u);
  }
}

BRIGADE_TEST_CURRENT_THREAD(Mutex, HandOverToAnAbortedWaiterThrowsAndPassesOn) {
  // Deterministic on one thread: the hand-over (ready) and the abort both
  // happen before the waiter runs, so its poll sees ready + cancel.
  bg::mutex m;
  bg::testing::manual_event release;
  std::vector<int> order;
  auto g = co_await m.lock();
  auto first = bg::spawn(lock_and_hold(m, release, 1));
  co_await until([&] { return m.waiters() == 1; });
  auto second = bg::spawn(lock_and_record(m, order, 2));
  co_await until([&] { return m.waiters() == 2; });
  g.unlock();
  EXPECT_TRUE(m.is_locked());  // handed to `first`
  first.abort();
  EXPECT_THROW(co_await first, bg::cancelled);
  EXPECT_EQ(co_await second, 2);
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, AlreadyCancelledTaskDoesNotLock) {
  bg::mutex m;
  bg::testing::manual_event never;
  auto body = [](bg::mutex& mx, bg::testing::manual_event& ev) -> bg::task<int> {
    try {
      co_await ev.wait();
    } catch (const bg::cancelled&) {
    }
    auto g = co_await mx.lock();  // the task is cancelled: throws at once
    co_return 1;
  };
  auto h = bg::spawn(body(m, never));
  co_await until([&] { return never.waiters() == 1; });
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, CancelSweepAbortsEachQueuedWaiter) {
  // For every position k in a queue of 6 waiters, abort the k-th: the others
  // get the lock exactly once each, in order, and the lock ends free.
  constexpr int n = 6;
  for (int k = 0; k < n; ++k) {
    counted::reset();
    bg::mutex m;
    bg::testing::manual_event release;
    release.set();
    std::vector<int> order;
    std::vector<bg::join_handle<int>> hs;
    auto g = co_await m.lock();
    for (int i = 0; i < n; ++i) {
      hs.push_back(bg::spawn(lock_and_hold(m, release, i)));
      const auto want = static_cast<std::size_t>(i) + 1;
      co_await until([&] { return m.waiters() == want; });
    }
    hs[static_cast<std::size_t>(k)].abort();
    co_await until([&] { return m.waiters() == n - 1; });
    g.unlock();
    for (int i = 0; i < n; ++i) {
      if (i == k) {
        EXPECT_THROW(co_await hs[static_cast<std::size_t>(i)], bg::cancelled);
      } else {
        EXPECT_EQ(co_await hs[static_cast<std::size_t>(i)], i);
      }
    }
    EXPECT_FALSE(m.is_locked());
    EXPECT_EQ(counted::alive(), 0);
  }
}

BRIGADE_TEST(Mutex, BudgetYieldsInATightLockLoop) {
  bg::mutex m;
  const auto before = bg::current_runtime().metrics().budget_forced_yields;
  for (int i = 0; i < 1000; ++i) {
    auto g = co_await m.lock();
  }
  co_await bg::yield_now();  // let the worker publish its counters
  EXPECT_GT(bg::current_runtime().metrics().budget_forced_yields, before);
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, PlainThreadsAndTasksShareTheLock) {
  bg::mutex m;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        auto g = m.blocking_lock();
        ++counter;
      }
    });
  }
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < 2; ++t) hs.push_back(bg::spawn(increment_many(m, counter, 500)));
  for (auto& h : hs) co_await h;
  for (auto& th : threads) th.join();
  EXPECT_EQ(counter, 2000);
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, BlockingLockWaitsForATask) {
  bg::mutex m;
  std::atomic<bool> got{false};
  auto g = co_await m.lock();
  std::thread th([&] {
    auto tg = m.blocking_lock();
    got.store(true);
  });
  co_await until([&] { return m.waiters() == 1; });
  EXPECT_FALSE(got.load());
  g.unlock();
  th.join();
  EXPECT_TRUE(got.load());
  EXPECT_FALSE(m.is_locked());
}

BRIGADE_TEST(Mutex, BlockingLockInsideARuntimeThrows) {
  bg::mutex m;
  EXPECT_THROW((void)m.blocking_lock(), std::logic_error);
  EXPECT_FALSE(m.is_locked());
  co_return;
}

BRIGADE_TEST(Mutex, BlockingLockOnTheBlockingPool) {
  // The blocking pool is where blocking calls belong: allowed there.
  bg::mutex m;
  auto g = co_await m.lock();
  auto waiter = [](bg::mutex& mx) -> bg::task<int> {
    co_return co_await bg::spawn_blocking([&mx] {
      auto tg = mx.blocking_lock();
      return 7;
    });
  };
  auto h = bg::spawn(waiter(m));
  co_await until([&] { return m.waiters() == 1; });
  g.unlock();
  EXPECT_EQ(co_await h, 7);
  EXPECT_FALSE(m.is_locked());
}

TEST(Mutex, LockOutsideATaskThrows) {
  bg::mutex m;
  std::exception_ptr error;
  auto outside = [](std::exception_ptr&, bg::mutex& mx) -> bg::testing::eager {
    auto g = co_await mx.lock();
  };
  outside(error, m);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
  EXPECT_FALSE(m.is_locked());
}

TEST(Mutex, ShutdownWithQueuedWaitersLeavesItFree) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    bg::mutex m;
    bg::testing::manual_event never;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      std::vector<bg::join_handle<int>> hs;
      for (int i = 0; i < 4; ++i) hs.push_back(rt.spawn(lock_and_hold(m, never, i)));
      // Drive the runtime (current_thread runs tasks only inside block_on)
      // until one task holds the lock and three wait.
      rt.block_on(until([&] { return m.waiters() == 3; }));
      rt.shutdown();
      for (auto& h : hs) EXPECT_THROW(h.take_result(), bg::cancelled);
    }
    EXPECT_FALSE(m.is_locked());
    EXPECT_EQ(m.waiters(), 0u);
    EXPECT_EQ(counted::alive(), 0);
  });
}
