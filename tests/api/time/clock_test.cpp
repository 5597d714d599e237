#include <brigade/time/clock.hpp>

#include <brigade/runtime.hpp>
#include <brigade/testing/test.hpp>
#include <brigade/time/sleep.hpp>

#include <chrono>

namespace bg = brigade;
using namespace std::chrono_literals;

namespace {

bg::runtime_options paused(bg::flavor f) {
  bg::runtime_options o = bg::testing::test_options(f);
  o.clock = bg::clock_kind::paused;
  return o;
}

class ClockPaused : public ::testing::TestWithParam<bg::flavor> {};

TEST_P(ClockPaused, AdvanceMovesTimeAndFiresDueTimers) {
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    const auto t0 = bg::now();
    bool eggs_done = false;
    auto eggs = bg::spawn([](bool* done) -> bg::task<void> {
      co_await bg::sleep(5min);
      *done = true;
    }(&eggs_done));
    co_await bg::yield_now();  // let the eggs start their timer
    co_await bg::advance(4min);
    EXPECT_EQ(bg::now() - t0, 4min);
    EXPECT_FALSE(eggs_done);
    co_await bg::advance(1min);
    co_await eggs;
    EXPECT_TRUE(eggs_done);
    EXPECT_GE(bg::now() - t0, 5min);
  }());
}

TEST_P(ClockPaused, TimeStandsStillWhileTasksRun) {
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    const auto t0 = bg::now();
    for (int i = 0; i < 1000; ++i) co_await bg::yield_now();
    EXPECT_EQ(bg::now(), t0);
  }());
}

BRIGADE_INSTANTIATE_FLAVORS(ClockPaused);

BRIGADE_TEST(ClockSteady, AdvanceRefusesRealClock) {
  EXPECT_THROW(co_await bg::advance(1s), std::logic_error);
}

TEST(Clock, NowOutsideRuntimeIsSteady) {
  const auto a = std::chrono::steady_clock::now();
  const auto b = bg::now();
  EXPECT_GE(b, a);
}

}  // namespace
