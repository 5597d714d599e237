// brigade::semaphore: permits, FIFO grants, close, cancellation, threads.
#include <brigade/sync/semaphore.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
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

bg::task<int> acquire_and_record(bg::semaphore& s, std::size_t n, std::vector<int>& order, int id) {
  auto p = co_await s.acquire(n);
  order.push_back(id);
  co_return static_cast<int>(p.count());
}

bg::task<int> acquire_and_hold(bg::semaphore& s, std::size_t n, bg::testing::manual_event& release,
                               int id) {
  counted c{id};
  auto p = co_await s.acquire(n);
  co_await release.wait();
  co_return id;
}

bg::task<> bounded_work(bg::semaphore& s, std::atomic<int>& inside, std::atomic<int>& peak,
                        int rounds) {
  for (int i = 0; i < rounds; ++i) {
    auto p = co_await s.acquire();
    const int now = inside.fetch_add(1) + 1;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    co_await bg::yield_now();
    inside.fetch_sub(1);
  }
}

}  // namespace

BRIGADE_TEST(Semaphore, AcquireTakesAndPermitReturns) {
  bg::semaphore s{3};
  {
    auto a = co_await s.acquire();
    auto b = co_await s.acquire(2);
    EXPECT_EQ(a.count(), 1u);
    EXPECT_EQ(b.count(), 2u);
    EXPECT_EQ(s.available_permits(), 0u);
    EXPECT_FALSE(s.try_acquire().has_value());
    b.release();
    EXPECT_EQ(s.available_permits(), 2u);
  }
  EXPECT_EQ(s.available_permits(), 3u);
}

BRIGADE_TEST(Semaphore, PermitMovesAndForgets) {
  bg::semaphore s{2};
  auto a = co_await s.acquire();
  bg::semaphore::permit b = std::move(a);
  EXPECT_FALSE(static_cast<bool>(a));
  EXPECT_TRUE(static_cast<bool>(b));
  b.forget();
  EXPECT_EQ(s.available_permits(), 1u);
  {
    auto c = s.try_acquire();
    BRIGADE_CO_ASSERT(c.has_value());
    EXPECT_EQ(s.available_permits(), 0u);
  }
  EXPECT_EQ(s.available_permits(), 1u);
  s.add_permits(2);
  EXPECT_EQ(s.available_permits(), 3u);
}

BRIGADE_TEST(Semaphore, BoundsConcurrency) {
  bg::semaphore s{3};
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < 10; ++t) hs.push_back(bg::spawn(bounded_work(s, inside, peak, 50)));
  for (auto& h : hs) co_await h;
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(s.available_permits(), 3u);
}

BRIGADE_TEST(Semaphore, ThousandWaitersAreServedInFifoOrder) {
  bg::semaphore s{0};
  std::vector<int> order;
  std::vector<bg::join_handle<int>> hs;
  for (int i = 0; i < 1000; ++i) {
    hs.push_back(bg::spawn(acquire_and_record(s, 1, order, i)));
    const auto want = static_cast<std::size_t>(i) + 1;
    co_await until([&] { return s.waiters() == want; });
  }
  // One permit: each waiter records, then returns it to the next one, so
  // the record order is the grant order.
  s.add_permits(1);
  for (auto& h : hs) EXPECT_EQ(co_await h, 1);
  BRIGADE_CO_ASSERT(order.size() == 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(s.available_permits(), 1u);
}

BRIGADE_TEST(Semaphore, LargeRequestIsNotOvertakenBySmallOnes) {
  bg::semaphore s{1};
  std::vector<int> order;
  auto big = bg::spawn(acquire_and_record(s, 3, order, 3));
  co_await until([&] { return s.waiters() == 1; });
  auto small = bg::spawn(acquire_and_record(s, 1, order, 1));
  co_await until([&] { return s.waiters() == 2; });
  EXPECT_FALSE(s.try_acquire().has_value()) << "a try must not overtake the queue";
  EXPECT_EQ(s.available_permits(), 1u);
  s.add_permits(2);
  EXPECT_EQ(co_await big, 3);
  EXPECT_EQ(co_await small, 1);
  BRIGADE_CO_ASSERT(order.size() == 2u);
  EXPECT_EQ(order[0], 3);
  EXPECT_EQ(order[1], 1);
  EXPECT_EQ(s.available_permits(), 3u);
}

BRIGADE_TEST(Semaphore, AbortedLargeHeadUnblocksSmallerWaiters) {
  counted::reset();
  bg::semaphore s{2};
  bg::testing::manual_event release;
  std::vector<int> order;
  auto big = bg::spawn(acquire_and_hold(s, 5, release, 5));
  co_await until([&] { return s.waiters() == 1; });
  auto small = bg::spawn(acquire_and_record(s, 2, order, 2));
  co_await until([&] { return s.waiters() == 2; });
  big.abort();
  EXPECT_THROW(co_await big, bg::cancelled);
  EXPECT_EQ(co_await small, 2);
  EXPECT_EQ(s.available_permits(), 2u);
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST(Semaphore, CancelSweepLosesNoPermit) {
  // Abort the k-th of 6 queued acquires, then grant every permit at once
  // (some racing the abort): the permits all come back.
  constexpr int n = 6;
  for (int k = 0; k < n; ++k) {
    counted::reset();
    bg::semaphore s{0};
    bg::testing::manual_event release;
    release.set();
    std::vector<bg::join_handle<int>> hs;
    for (int i = 0; i < n; ++i) {
      hs.push_back(bg::spawn(acquire_and_hold(s, 2, release, i)));
      const auto want = static_cast<std::size_t>(i) + 1;
      co_await until([&] { return s.waiters() == want; });
    }
    s.add_permits(static_cast<std::size_t>(k) * 2);  // grant those before k
    hs[static_cast<std::size_t>(k)].abort();
    s.add_permits(static_cast<std::size_t>(n - k) * 2);  // the rest, racing the abort
    for (int i = 0; i < n; ++i) {
      try {
        EXPECT_EQ(co_await hs[static_cast<std::size_t>(i)], i);
      } catch (const bg::cancelled&) {
        EXPECT_EQ(i, k);
      }
    }
    EXPECT_EQ(s.available_permits(), static_cast<std::size_t>(n) * 2);
    EXPECT_EQ(s.waiters(), 0u);
    EXPECT_EQ(counted::alive(), 0);
  }
}

BRIGADE_TEST_CURRENT_THREAD(Semaphore, GrantToAnAbortedWaiterIsReturned) {
  bg::semaphore s{0};
  std::vector<int> order;
  bg::testing::manual_event release;
  auto first = bg::spawn(acquire_and_hold(s, 1, release, 1));
  co_await until([&] { return s.waiters() == 1; });
  auto second = bg::spawn(acquire_and_record(s, 1, order, 2));
  co_await until([&] { return s.waiters() == 2; });
  s.add_permits(1);  // granted to `first`, which has not run yet
  first.abort();
  EXPECT_THROW(co_await first, bg::cancelled);
  EXPECT_EQ(co_await second, 1);  // got the returned permit
  EXPECT_EQ(s.available_permits(), 1u);
}

BRIGADE_TEST(Semaphore, CloseFailsWaitersAndLaterAcquires) {
  bg::semaphore s{0};
  std::vector<int> order;
  auto h = bg::spawn(acquire_and_record(s, 1, order, 1));
  co_await until([&] { return s.waiters() == 1; });
  s.close();
  EXPECT_TRUE(s.is_closed());
  EXPECT_THROW(co_await h, bg::semaphore_closed);
  EXPECT_THROW(co_await s.acquire(), bg::semaphore_closed);
  s.add_permits(1);
  EXPECT_FALSE(s.try_acquire().has_value());
  EXPECT_TRUE(order.empty());
}

BRIGADE_TEST(Semaphore, PermitsHeldAcrossCloseStillReturn) {
  bg::semaphore s{1};
  auto p = co_await s.acquire();
  s.close();
  p.release();
  EXPECT_EQ(s.available_permits(), 1u);
}

BRIGADE_TEST(Semaphore, PlainThreadsAndTasksShareThePermits) {
  bg::semaphore s{2};
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto p = s.blocking_acquire();
        const int now = inside.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
      }
    });
  }
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < 3; ++t) hs.push_back(bg::spawn(bounded_work(s, inside, peak, 100)));
  for (auto& h : hs) co_await h;
  for (auto& th : threads) th.join();
  EXPECT_LE(peak.load(), 2);
  EXPECT_EQ(s.available_permits(), 2u);
}

BRIGADE_TEST(Semaphore, BlockingAcquireSeesClose) {
  bg::semaphore s{0};
  std::atomic<int> outcome{0};
  std::thread th([&] {
    try {
      auto p = s.blocking_acquire();
      outcome.store(1);
    } catch (const bg::semaphore_closed&) {
      outcome.store(2);
    }
  });
  co_await until([&] { return s.waiters() == 1; });
  s.close();
  th.join();
  EXPECT_EQ(outcome.load(), 2);
}

BRIGADE_TEST(Semaphore, BlockingAcquireInsideARuntimeThrows) {
  bg::semaphore s{1};
  EXPECT_THROW((void)s.blocking_acquire(), std::logic_error);
  EXPECT_EQ(s.available_permits(), 1u);
  co_return;
}

TEST(Semaphore, AcquireOutsideATaskThrows) {
  bg::semaphore s{1};
  std::exception_ptr error;
  auto outside = [](std::exception_ptr&, bg::semaphore& sem) -> bg::testing::eager {
    auto p = co_await sem.acquire();
  };
  outside(error, s);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
  EXPECT_EQ(s.available_permits(), 1u);
}

TEST(Semaphore, ShutdownReturnsEveryPermit) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    bg::semaphore s{2};
    bg::testing::manual_event never;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      std::vector<bg::join_handle<int>> hs;
      for (int i = 0; i < 5; ++i) hs.push_back(rt.spawn(acquire_and_hold(s, 1, never, i)));
      rt.block_on(until([&] { return s.waiters() == 3; }));
      rt.shutdown();
    }
    EXPECT_EQ(s.available_permits(), 2u);
    EXPECT_EQ(s.waiters(), 0u);
    EXPECT_EQ(counted::alive(), 0);
  });
}
