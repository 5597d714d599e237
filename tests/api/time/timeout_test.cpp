#include <brigade/time/timeout.hpp>

#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <chrono>
#include <optional>

namespace bg = brigade;
using namespace std::chrono_literals;

namespace {

bg::runtime_options paused(bg::flavor f) {
  bg::runtime_options o = bg::testing::test_options(f);
  o.clock = bg::clock_kind::paused;
  return o;
}

bg::task<int> slow_value(bg::duration d, int v) {
  co_await bg::sleep(d);
  co_return v;
}

class TimeoutPaused : public ::testing::TestWithParam<bg::flavor> {};

TEST_P(TimeoutPaused, ValueInTime) {
  bg::runtime rt{paused(GetParam())};
  EXPECT_EQ(rt.block_on(bg::timeout(50ms, slow_value(10ms, 7))), 7);
}

TEST_P(TimeoutPaused, TimesOutAndCancelsTheOperation) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    bool unwound = false;
    auto op = [](bool* flag) -> bg::task<int> {
      struct on_unwind {
        bool* flag;
        ~on_unwind() { *flag = true; }
      } guard{flag};
      co_await bg::sleep(1h);
      co_return 1;
    };
    const auto t0 = bg::now();
    EXPECT_THROW(co_await bg::timeout(20ms, op(&unwound)), bg::timed_out);
    // The inner operation was cancelled and had unwound before we resumed.
    EXPECT_TRUE(unwound);
    EXPECT_EQ(bg::now() - t0, 20ms);
  }());
}

TEST_P(TimeoutPaused, TryTimeoutIsAValue) {
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    std::optional<int> late = co_await bg::try_timeout(5ms, slow_value(1s, 1));
    EXPECT_FALSE(late.has_value());
    std::optional<int> ok = co_await bg::try_timeout(5s, slow_value(1ms, 2));
    BRIGADE_CO_ASSERT(ok.has_value());
    EXPECT_EQ(*ok, 2);
  }());
}

bg::task<void> slow_void(bg::duration d) { co_await bg::sleep(d); }

TEST_P(TimeoutPaused, TryTimeoutOfAVoidTask) {
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    const auto t0 = bg::now();
    auto late = co_await bg::try_timeout(5ms, slow_void(1s));
    EXPECT_FALSE(late.has_value());
    EXPECT_EQ(bg::now() - t0, 5ms);
    auto ok = co_await bg::try_timeout(5s, slow_void(1ms));
    EXPECT_TRUE(ok.has_value());
  }());
}

bg::task<void> wait_for(bg::testing::manual_event* ev) { co_await ev->wait(); }

TEST_P(TimeoutPaused, WrapsAnyAwaitable) {
  bg::runtime rt{paused(GetParam())};
  rt.block_on([]() -> bg::task<void> {
    bg::testing::manual_event ev;
    EXPECT_THROW(co_await bg::timeout(1ms, wait_for(&ev)), bg::timed_out);
    ev.set();
    co_await bg::timeout(1ms, wait_for(&ev));  // ready: no timeout
    // A movable awaitable (not a task) is wrapped in one.
    EXPECT_THROW(co_await bg::timeout(3ms, bg::sleep(1s)), bg::timed_out);
  }());
}

TEST_P(TimeoutPaused, InnerExceptionPropagates) {
  bg::runtime rt{paused(GetParam())};
  EXPECT_THROW(rt.block_on(bg::timeout(1s,
                                       []() -> bg::task<int> {
                                         co_await bg::sleep(1ms);
                                         throw std::runtime_error("burnt toast");
                                       }())),
               std::runtime_error);
}

BRIGADE_INSTANTIATE_FLAVORS(TimeoutPaused);

/// Runs without suspending until `go` is set (at most 5 s), then returns 42.
bg::task<int> busy_until(const std::atomic<bool>* go) {
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (!go->load() && std::chrono::steady_clock::now() < give_up) {
  }
  co_return 42;
}

bg::task<void> set_after(bg::duration d, std::atomic<bool>* flag) {
  co_await bg::sleep(d);
  flag->store(true);
}

TEST(TimeoutRace, AnOperationThatFinishesAfterTheTimerFiredKeepsItsValue) {
  // Two workers, the real clock. The operation runs on one worker without
  // suspending; the timer fires on the other and wins the race, and the
  // operation is cancelled while it runs. It finishes anyway (it never
  // reaches a suspension point to notice): its value is returned, not
  // dropped. (A read that got its bytes as the timer fired is this case:
  // dropping the value would lose the bytes.) The witness wakes well after
  // the timer, so the timer has fired before the operation finishes.
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 2}};
  rt.block_on([]() -> bg::task<void> {
    std::atomic<bool> late{false};
    bg::join_handle<void> witness = bg::spawn(set_after(40ms, &late));
    std::optional<int> r = co_await bg::try_timeout(5ms, busy_until(&late));
    EXPECT_TRUE(late.load());
    EXPECT_EQ(r, std::optional<int>{42}) << "a finished operation's value was dropped";
    co_await witness;

    late.store(false);
    witness = bg::spawn(set_after(40ms, &late));
    EXPECT_EQ(co_await bg::timeout(5ms, busy_until(&late)), 42);
    co_await witness;
  }());
}

}  // namespace
