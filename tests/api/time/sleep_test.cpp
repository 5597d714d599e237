#include <brigade/time/sleep.hpp>

#include <brigade/runtime.hpp>
#include <brigade/testing/test.hpp>

#include "support/manual_event.hpp"

#include <chrono>
#include <vector>

namespace bg = brigade;
using namespace std::chrono_literals;

namespace {

bg::runtime_options paused(bg::flavor f) {
  bg::runtime_options o = bg::testing::test_options(f);
  o.clock = bg::clock_kind::paused;
  return o;
}

bg::task<void> sleeper(bg::duration d, int id, std::vector<int>* order) {
  co_await bg::sleep(d);
  order->push_back(id);
}

class SleepPaused : public ::testing::TestWithParam<bg::flavor> {};

TEST_P(SleepPaused, WakesInDeadlineOrderAndVirtualTimeJumps) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{paused(GetParam())};
  std::vector<int> order;
  const auto wall = std::chrono::steady_clock::now();
  const bg::duration elapsed = rt.block_on([](std::vector<int>* out) -> bg::task<bg::duration> {
    const auto t0 = bg::now();
    std::vector<bg::join_handle<void>> hs;
    // Spawned in reverse deadline order; minutes of virtual time.
    for (int i = 5; i >= 1; --i) hs.push_back(bg::spawn(sleeper(std::chrono::minutes(i), i, out)));
    for (auto& h : hs) co_await h;
    co_return bg::now() - t0;
  }(&order));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(elapsed, std::chrono::minutes(5));
  // Five virtual minutes must not take real minutes.
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 5s);
}

TEST_P(SleepPaused, PastDeadlineCompletesAtOnce) {
  bg::runtime rt{paused(GetParam())};
  const bg::duration d = rt.block_on([]() -> bg::task<bg::duration> {
    const auto t0 = bg::now();
    co_await bg::sleep_until(t0 - 1h);
    co_await bg::sleep(0ms);
    co_return bg::now() - t0;
  }());
  EXPECT_EQ(d, bg::duration::zero());
}

TEST_P(SleepPaused, AbortedSleepRemovesItsTimer) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    bool finished = false;
    auto h = bg::spawn([](bool* done) -> bg::task<void> {
      co_await bg::sleep(1h);
      *done = true;
    }(&finished));
    co_await bg::sleep(1min);
    h.abort();
    EXPECT_THROW(co_await h, bg::cancelled);
    EXPECT_FALSE(finished);
    const auto t0 = bg::now();
    co_await bg::sleep(1ms);
    // Had the hour-long timer stayed registered, it would still be here; time
    // only moved to our own deadline.
    EXPECT_EQ(bg::now() - t0, 1ms);
  }());
  EXPECT_EQ(rt.metrics().live_tasks, 0u);
}

TEST_P(SleepPaused, ManySleepersAllWake) {
  bg::runtime rt{paused(GetParam())};
  const int woke = rt.block_on([]() -> bg::task<int> {
    std::vector<bg::join_handle<int>> hs;
    for (int i = 0; i < 10000; ++i) {
      hs.push_back(bg::spawn([](int ms) -> bg::task<int> {
        co_await bg::sleep(std::chrono::milliseconds(ms));
        co_return 1;
      }(i % 997)));
    }
    int n = 0;
    for (auto& h : hs) n += co_await h;
    co_return n;
  }());
  EXPECT_EQ(woke, 10000);
}

TEST_P(SleepPaused, DeadlockIsReportedNotHung) {
  bg::runtime rt{paused(GetParam())};
  bg::testing::manual_event never;  // nobody sets it: a real deadlock
  EXPECT_THROW(rt.block_on([](bg::testing::manual_event* ev) -> bg::task<void> {
    co_await bg::sleep(10min);  // timers still run first
    co_await ev->wait();
  }(&never)),
               bg::deadlock_error);
}

BRIGADE_INSTANTIATE_FLAVORS(SleepPaused);

BRIGADE_TEST(SleepSteady, NeverReturnsEarly) {
  for (int i = 0; i < 20; ++i) {
    const auto d = std::chrono::milliseconds(1 + i % 3);
    const auto before = std::chrono::steady_clock::now();
    co_await bg::sleep(d);
    EXPECT_GE(std::chrono::steady_clock::now() - before, d);
  }
}

BRIGADE_TEST(SleepSteady, OutsideTaskNowIsSteadyClock) {
  const auto a = std::chrono::steady_clock::now();
  co_await bg::yield_now();
  EXPECT_GE(bg::now(), a);
}

TEST(Sleep, AwaitOutsideRuntimeThrows) {
  // A task resumed by hand (not spawned) has no current task: sleep refuses.
  auto t = []() -> bg::task<void> { co_await bg::sleep(1ms); }();
  auto h = t.release();
  EXPECT_NO_THROW(h.resume());  // the exception is stored in the task
  EXPECT_TRUE(h.done());
  EXPECT_TRUE(static_cast<bool>(h.promise().exception_));
  h.destroy();
}

}  // namespace
