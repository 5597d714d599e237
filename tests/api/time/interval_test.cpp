#include <brigade/time/interval.hpp>

#include <brigade/runtime.hpp>
#include <brigade/testing/test.hpp>

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

class IntervalPaused : public ::testing::TestWithParam<bg::flavor> {};

// Ticks at 0, 10, 20 ms; then the task is busy for 35 ms (it sleeps, as if
// cooking); the next ticks show the missed-tick policy.
std::vector<bg::duration> ticks_after_stall(bg::missed_tick_behavior b, bg::flavor f) {
  bg::runtime rt{paused(f)};
  return rt.block_on([](bg::missed_tick_behavior behavior) -> bg::task<std::vector<bg::duration>> {
    const auto t0 = bg::now();
    bg::interval iv{t0, 10ms, behavior};
    std::vector<bg::duration> at;
    for (int i = 0; i < 3; ++i) {
      co_await iv.tick();
      at.push_back(bg::now() - t0);
    }
    co_await bg::sleep(35ms);  // now at 55 ms: the 30, 40 and 50 ms ticks are late
    for (int i = 0; i < 3; ++i) {
      co_await iv.tick();
      at.push_back(bg::now() - t0);
    }
    co_return at;
  }(b));
}

TEST_P(IntervalPaused, FirstTickIsImmediateThenPeriodic) {
  const auto at = ticks_after_stall(bg::missed_tick_behavior::burst, GetParam());
  ASSERT_EQ(at.size(), 6u);
  EXPECT_EQ(at[0], 0ms);
  EXPECT_EQ(at[1], 10ms);
  EXPECT_EQ(at[2], 20ms);
}

TEST_P(IntervalPaused, BurstCatchesUp) {
  const auto at = ticks_after_stall(bg::missed_tick_behavior::burst, GetParam());
  // The 30, 40, 50 ms ticks all complete at once at 55 ms.
  EXPECT_EQ(at[3], 55ms);
  EXPECT_EQ(at[4], 55ms);
  EXPECT_EQ(at[5], 55ms);
}

TEST_P(IntervalPaused, DelayRestartsFromTheLateTick) {
  const auto at = ticks_after_stall(bg::missed_tick_behavior::delay, GetParam());
  EXPECT_EQ(at[3], 55ms);
  EXPECT_EQ(at[4], 65ms);
  EXPECT_EQ(at[5], 75ms);
}

TEST_P(IntervalPaused, SkipKeepsThePhase) {
  const auto at = ticks_after_stall(bg::missed_tick_behavior::skip, GetParam());
  EXPECT_EQ(at[3], 55ms);
  EXPECT_EQ(at[4], 60ms);
  EXPECT_EQ(at[5], 70ms);
}

TEST_P(IntervalPaused, ResetRestartsOnePeriodFromNow) {
  bg::runtime rt{paused(GetParam())};
  const auto d = rt.block_on([]() -> bg::task<bg::duration> {
    const auto t0 = bg::now();
    bg::interval iv{10ms};
    co_await iv.tick();
    co_await bg::sleep(3ms);
    iv.reset();
    co_await iv.tick();
    co_return bg::now() - t0;
  }());
  EXPECT_EQ(d, 13ms);
}

BRIGADE_INSTANTIATE_FLAVORS(IntervalPaused);

TEST(Interval, RejectsNonPositivePeriod) {
  EXPECT_THROW(bg::interval(0ms), std::invalid_argument);
  EXPECT_THROW(bg::interval(-1ms), std::invalid_argument);
}

}  // namespace
