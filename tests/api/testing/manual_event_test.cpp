// Tests of the test-support awaitable itself (tests/support/manual_event.hpp):
// the other suites rely on it to park tasks and release them at will.
#include "support/manual_event.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::manual_event;

namespace {
bg::task<int> waits(manual_event& ev, int v) {
  co_await ev.wait();
  co_return v;
}
}  // namespace

BRIGADE_TEST(ManualEvent, SetBeforeWaitDoesNotSuspend) {
  manual_event ev;
  EXPECT_FALSE(ev.is_set());
  ev.set();
  EXPECT_TRUE(ev.is_set());
  const auto polls = bg::current_runtime().metrics().polls;
  co_await ev.wait();
  co_await ev.wait();
  EXPECT_EQ(bg::current_runtime().metrics().polls, polls) << "no suspension, so no new run";
  EXPECT_EQ(ev.waiters(), 0u);
  EXPECT_EQ(ev.wakes(), 0u);
}

BRIGADE_TEST(ManualEvent, SetWakesEveryWaiter) {
  manual_event ev;
  std::vector<bg::join_handle<int>> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(bg::spawn(waits(ev, i)));
  co_await bg::testing::until_waiters(ev, 5);
  for (auto& h : hs) EXPECT_FALSE(h.is_finished());
  ev.set();
  EXPECT_EQ(ev.waiters(), 0u);
  int sum = 0;
  for (auto& h : hs) sum += co_await h;
  EXPECT_EQ(sum, 10);
  EXPECT_EQ(ev.wakes(), 1u);
}

BRIGADE_TEST(ManualEvent, ResetParksLaterWaiters) {
  manual_event ev;
  ev.set();
  ev.reset();
  EXPECT_FALSE(ev.is_set());
  auto h = bg::spawn(waits(ev, 3));
  co_await bg::testing::until_waiters(ev, 1);
  EXPECT_FALSE(h.is_finished());
  ev.set();
  EXPECT_EQ(co_await h, 3);
}

BRIGADE_TEST(ManualEvent, SetFromAPlainThread) {
  manual_event ev;
  auto h = bg::spawn(waits(ev, 8));
  co_await bg::testing::until_waiters(ev, 1);
  std::thread([&ev] { ev.set(); }).join();
  EXPECT_EQ(co_await h, 8);
}

BRIGADE_TEST(ManualEvent, AbortWithdrawsTheWaiter) {
  counted::reset();
  manual_event ev;
  auto parked = [](manual_event& e) -> bg::task<int> {
    counted c;
    co_await e.wait();
    co_return 1;
  };
  auto h = bg::spawn(parked(ev));
  co_await bg::testing::until_waiters(ev, 1);
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(ev.waiters(), 0u);
  EXPECT_EQ(counted::alive(), 0);
}

namespace {
bg::task<int> wait_after_cancel(manual_event& ev, std::atomic<int>& parked_after) {
  for (;;) {
    try {
      co_await bg::yield_now();
    } catch (const bg::cancelled&) {
      break;
    }
  }
  // Already cancelled: wait() must throw before parking.
  try {
    co_await ev.wait();
  } catch (const bg::cancelled&) {
    parked_after.store(static_cast<int>(ev.waiters()));
    throw;
  }
  co_return 0;
}
}  // namespace

BRIGADE_TEST(ManualEvent, CancelledTaskDoesNotPark) {
  manual_event ev;
  std::atomic<int> parked_after{-1};
  auto h = bg::spawn(wait_after_cancel(ev, parked_after));
  co_await bg::yield_now();
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(parked_after.load(), 0);
}

TEST(ManualEvent, WaitOutsideATaskThrowsLogicError) {
  manual_event ev;
  std::exception_ptr error;
  auto outside = [](std::exception_ptr&, manual_event& e) -> bg::testing::eager {
    co_await e.wait();
  };
  outside(error, ev);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
  EXPECT_EQ(ev.waiters(), 0u);
}

TEST(ManualEvent, ShutdownUnlinksParkedWaiters) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    manual_event ev;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 3; ++i) rt.spawn(waits(ev, i)).detach();
      rt.block_on(bg::testing::until_waiters(ev, 3));
      EXPECT_EQ(ev.waiters(), 3u);
    }
    EXPECT_EQ(ev.waiters(), 0u);
    ev.set();
    EXPECT_EQ(ev.wakes(), 0u);
  });
}

namespace {
bg::task<int> park_and_publish(manual_event& ev, std::atomic<bg::detail::task_header*>& me) {
  me.store(bg::detail::current_task());
  co_await ev.wait();
  co_return 1;
}
}  // namespace

// A wake that is not the event's (a stale or spurious wake-up) makes the
// worker poll the wait node, which is not ready: the task must stay parked.
BRIGADE_TEST(ManualEvent, StaleWakeDoesNotResume) {
  manual_event ev;
  std::atomic<bg::detail::task_header*> header{nullptr};
  auto h = bg::spawn(park_and_publish(ev, header));
  co_await bg::testing::until_waiters(ev, 1);
  bg::detail::task_header* t = header.load();
  BRIGADE_CO_ASSERT(t != nullptr);
  const auto polls = bg::current_runtime().metrics().polls;
  t->wake_by_ref();  // h keeps the task alive
  while (bg::current_runtime().metrics().polls < polls + 2) co_await bg::yield_now();
  EXPECT_EQ(ev.waiters(), 1u) << "the stale wake must not resume the waiter";
  EXPECT_FALSE(h.is_finished());
  ev.set();
  EXPECT_EQ(co_await h, 1);
}
