#include <brigade/time/timer.hpp>

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

class TimerPaused : public ::testing::TestWithParam<bg::flavor> {};

TEST_P(TimerPaused, WaitFollowsResetLaterAndEarlier) {
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    const auto t0 = bg::now();
    bg::timer idle{t0 + 30s};
    auto waiter = bg::spawn([](bg::timer* t) -> bg::task<bg::time_point> {
      co_await t->wait();
      co_return bg::now();
    }(&idle));
    co_await bg::sleep(10s);
    idle.reset(t0 + 60s);  // a message arrived: push the deadline out
    co_await bg::sleep(30s);
    EXPECT_FALSE(waiter.is_finished());
    idle.reset(t0 + 45s);  // earlier than the pending deadline
    const bg::time_point fired = co_await waiter;
    EXPECT_EQ(fired - t0, 45s);
  }());
}

TEST_P(TimerPaused, ResetIntoThePastFiresAtOnce) {
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    const auto t0 = bg::now();
    bg::timer t{t0 + 1h};
    auto waiter = bg::spawn([](bg::timer* tm) -> bg::task<void> { co_await tm->wait(); }(&t));
    co_await bg::sleep(1s);
    t.reset(t0);
    co_await waiter;
    EXPECT_EQ(bg::now() - t0, 1s);
  }());
}

TEST_P(TimerPaused, AbortedWaitWithdraws) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    bg::timer t{bg::now() + 1h};
    auto waiter = bg::spawn([](bg::timer* tm) -> bg::task<void> { co_await tm->wait(); }(&t));
    co_await bg::sleep(1s);
    waiter.abort();
    EXPECT_THROW(co_await waiter, bg::cancelled);
    // The timer is free again: another task may wait on it.
    t.reset(bg::now() + 1s);
    co_await t.wait();
  }());
}

BRIGADE_INSTANTIATE_FLAVORS(TimerPaused);

}  // namespace
