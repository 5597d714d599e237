// brigade::latch: count down, wait, try_wait, cancellation, threads.
#include <brigade/sync/latch.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/helpers.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::until;

namespace {

bg::task<int> wait_for(bg::latch& l, int id) {
  co_await l.wait();
  co_return id;
}

bg::task<> count_down_later(bg::latch& l) {
  co_await bg::yield_now();
  l.count_down();
}

}  // namespace

BRIGADE_TEST(Latch, WaitersGoOnAtZero) {
  bg::latch l{3};
  std::vector<bg::join_handle<int>> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(bg::spawn(wait_for(l, i)));
  co_await until([&] { return l.waiters() == 4; });
  l.count_down();
  l.count_down();
  EXPECT_FALSE(l.try_wait());
  for (auto& h : hs) EXPECT_FALSE(h.is_finished());
  l.count_down();
  EXPECT_TRUE(l.try_wait());
  int sum = 0;
  for (auto& h : hs) sum += co_await h;
  EXPECT_EQ(sum, 6);
}

BRIGADE_TEST(Latch, OpenLatchDoesNotWait) {
  bg::latch l{2};
  l.count_down(2);
  EXPECT_EQ(l.count(), 0u);
  co_await l.wait();
  bg::latch zero{0};
  co_await zero.wait();
}

BRIGADE_TEST(Latch, CountingBelowZeroIsRejected) {
  bg::latch l{1};
  EXPECT_THROW(l.count_down(2), std::invalid_argument);
  EXPECT_EQ(l.count(), 1u);
  co_return;
}

BRIGADE_TEST(Latch, TasksCountDownForTheWaiter) {
  bg::latch l{8};
  for (int i = 0; i < 8; ++i) bg::spawn(count_down_later(l)).detach();
  co_await l.wait();
  EXPECT_EQ(l.count(), 0u);
}

BRIGADE_TEST(Latch, AbortedWaitIsWithdrawn) {
  bg::latch l{1};
  auto h = bg::spawn(wait_for(l, 1));
  co_await until([&] { return l.waiters() == 1; });
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(l.waiters(), 0u);
  l.count_down();
  co_await l.wait();
}

BRIGADE_TEST(Latch, PlainThreadsWaitAndCountDown) {
  bg::latch ready{1};
  bg::latch done{2};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      ready.blocking_wait();
      done.count_down();
    });
  }
  ready.count_down();
  co_await done.wait();
  for (auto& th : threads) th.join();
  EXPECT_TRUE(done.try_wait());
}

BRIGADE_TEST(Latch, BlockingWaitInsideARuntimeThrows) {
  bg::latch l{1};
  EXPECT_THROW(l.blocking_wait(), std::logic_error);
  co_return;
}
