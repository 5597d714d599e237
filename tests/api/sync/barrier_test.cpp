// brigade::barrier: phases, one leader per phase, reuse, cancellation.
#include <brigade/sync/barrier.hpp>

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

bg::task<int> rounds_of(bg::barrier& b, std::atomic<int>& leaders,
                        std::vector<std::atomic<int>>& at, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    at[static_cast<std::size_t>(r)].fetch_add(1);
    auto res = co_await b.arrive_and_wait();
    // Everyone of this phase arrived before anyone goes on.
    EXPECT_EQ(at[static_cast<std::size_t>(r)].load(), static_cast<int>(b.parties()));
    if (res.is_leader()) leaders.fetch_add(1);
  }
  co_return rounds;
}

bg::task<bool> arrive_once(bg::barrier& b) { co_return (co_await b.arrive_and_wait()).is_leader(); }

}  // namespace

BRIGADE_TEST(Barrier, OneLeaderPerPhaseAndReuse) {
  bg::barrier b{4};
  std::atomic<int> leaders{0};
  std::vector<std::atomic<int>> at(10);
  std::vector<bg::join_handle<int>> hs;
  for (int t = 0; t < 4; ++t) hs.push_back(bg::spawn(rounds_of(b, leaders, at, 10)));
  for (auto& h : hs) EXPECT_EQ(co_await h, 10);
  EXPECT_EQ(leaders.load(), 10);
  EXPECT_EQ(b.waiters(), 0u);
}

BRIGADE_TEST(Barrier, SinglePartyNeverWaits) {
  bg::barrier b{1};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((co_await b.arrive_and_wait()).is_leader());
}

BRIGADE_TEST(Barrier, ZeroPartiesIsRejected) {
  EXPECT_THROW(bg::barrier{0}, std::invalid_argument);
  co_return;
}

BRIGADE_TEST(Barrier, AbortedArrivalIsWithdrawn) {
  bg::barrier b{2};
  auto first = bg::spawn(arrive_once(b));
  co_await until([&] { return b.waiters() == 1; });
  first.abort();
  EXPECT_THROW(co_await first, bg::cancelled);
  EXPECT_EQ(b.waiters(), 0u);
  // The withdrawn arrival does not count: two fresh parties are needed.
  auto second = bg::spawn(arrive_once(b));
  co_await until([&] { return b.waiters() == 1; });
  EXPECT_FALSE(second.is_finished());
  EXPECT_TRUE((co_await b.arrive_and_wait()).is_leader());
  EXPECT_FALSE(co_await second);
}

BRIGADE_TEST_CURRENT_THREAD(Barrier, CompletedPhaseWinsOverALateAbort) {
  bg::barrier b{2};
  auto first = bg::spawn(arrive_once(b));
  co_await until([&] { return b.waiters() == 1; });
  EXPECT_TRUE((co_await b.arrive_and_wait()).is_leader());  // releases `first`
  first.abort();                                            // too late: its arrival counted
  EXPECT_FALSE(co_await first);
}

BRIGADE_TEST(Barrier, ThreadsAndTasksMeet) {
  bg::barrier b{3};
  std::atomic<int> leaders{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < 20; ++r) {
        if (b.blocking_arrive_and_wait().is_leader()) leaders.fetch_add(1);
      }
    });
  }
  for (int r = 0; r < 20; ++r) {
    if ((co_await b.arrive_and_wait()).is_leader()) leaders.fetch_add(1);
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(leaders.load(), 20);
}

BRIGADE_TEST(Barrier, BlockingArriveInsideARuntimeThrows) {
  bg::barrier b{2};
  EXPECT_THROW((void)b.blocking_arrive_and_wait(), std::logic_error);
  EXPECT_EQ(b.waiters(), 0u);
  co_return;
}
