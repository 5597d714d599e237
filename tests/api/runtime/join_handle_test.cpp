#include <brigade/join_handle.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::failure_log;
using bg::testing::manual_event;

namespace {

class join_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bg::task<int> forty_two() { co_return 42; }

bg::task<int> fails_after_yield(std::string what) {
  co_await bg::yield_now();
  throw join_failure(what);
}

/// Parks on `ev` holding a counted local; returns 1 if woken normally.
bg::task<int> parked_counted(manual_event& ev) {
  counted local;
  co_await ev.wait();
  co_return 1;
}

bg::task<int> note_and_return(std::atomic<int>& runs, counted param) {
  runs.fetch_add(1);
  co_return param.value();
}

}  // namespace

// ---- is_finished ------------------------------------------------------------

BRIGADE_TEST(JoinHandle, IsFinishedBeforeAndAfterCompletion) {
  bg::join_handle<int> empty;
  EXPECT_FALSE(empty.is_finished());

  manual_event ev;
  auto h = bg::spawn(bg::testing::parked_value(ev, 5));
  co_await bg::testing::until_waiters(ev, 1);
  EXPECT_FALSE(h.is_finished()) << "parked on an event that is not set";
  ev.set();
  co_await bg::testing::until_finished(h);
  EXPECT_TRUE(h.is_finished());
  EXPECT_TRUE(h.valid());
  EXPECT_EQ(co_await h, 5);
  EXPECT_FALSE(h.is_finished()) << "an empty (joined) handle refers to no task";
}

BRIGADE_TEST(JoinHandle, TakeResultBeforeCompletionThrowsLogicError) {
  manual_event ev;
  auto h = bg::spawn(bg::testing::parked_value(ev, 1));
  EXPECT_THROW((void)h.take_result(), std::logic_error);
  ev.set();
  EXPECT_EQ(co_await h, 1) << "a failed take_result leaves the handle usable";
}

BRIGADE_TEST(JoinHandle, TakeResultAfterCompletion) {
  auto h = bg::spawn(forty_two());
  co_await bg::testing::until_finished(h);
  EXPECT_EQ(h.take_result(), 42);
  EXPECT_FALSE(h.valid());
}

// ---- abort ------------------------------------------------------------------

BRIGADE_TEST(JoinHandle, AbortParkedTaskThrowsCancelledAndDestroysLocals) {
  counted::reset();
  manual_event ev;
  auto h = bg::spawn(parked_counted(ev));
  co_await bg::testing::until_waiters(ev, 1);
  EXPECT_EQ(counted::alive(), 1);
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(counted::alive(), 0) << "the aborted task's locals must be destroyed";
  EXPECT_EQ(counted::destroyed(), counted::constructed()) << "exactly once";
  EXPECT_EQ(ev.waiters(), 0u) << "the cancelled waiter withdrew from the event";
  ev.set();  // setting afterwards wakes nobody and breaks nothing
  EXPECT_EQ(ev.wakes(), 0u);
}

BRIGADE_TEST(JoinHandle, AbortedHandleReportsFinishedThenCancelled) {
  manual_event ev;
  auto h = bg::spawn(bg::testing::parked_value(ev, 1));
  co_await bg::testing::until_waiters(ev, 1);
  h.abort();
  co_await bg::testing::until_finished(h);
  EXPECT_TRUE(h.is_finished());
  EXPECT_THROW((void)h.take_result(), bg::cancelled);
}

// Taking a result consumes the handle whatever the outcome: a value, an
// exception or cancelled (see the class comment: "std::logic_error when
// awaited after its result was taken"), and frees the finished frame.
BRIGADE_TEST(JoinHandle, FailedJoinConsumesTheHandle) {
  auto h = bg::spawn(fails_after_yield("once"));
  EXPECT_THROW(co_await h, join_failure);
  EXPECT_FALSE(h.valid()) << "the failure was delivered: the handle must be empty";
  EXPECT_FALSE(h.is_finished());
  EXPECT_THROW(co_await h, std::logic_error) << "a second join must not rethrow again";
}

BRIGADE_TEST(JoinHandle, CancelledJoinConsumesTheHandleAndFreesTheFrame) {
  counted::reset();
  manual_event ev;
  auto parked_with_param = [](manual_event& e, counted c) -> bg::task<int> {
    co_await e.wait();
    co_return c.value();
  };
  auto h = bg::spawn(parked_with_param(ev, counted{1}));
  co_await bg::testing::until_waiters(ev, 1);
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_FALSE(h.valid()) << "cancelled was delivered: the handle must be empty";
  EXPECT_EQ(counted::alive(), 0)
      << "the frame (and its parameter) is freed once the outcome is taken";
  EXPECT_THROW((void)h.take_result(), std::logic_error);
}

BRIGADE_TEST(JoinHandle, AbortTwiceIsHarmless) {
  counted::reset();
  manual_event ev;
  auto h = bg::spawn(parked_counted(ev));
  co_await bg::testing::until_waiters(ev, 1);
  h.abort();
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(counted::alive(), 0);
  EXPECT_EQ(counted::destroyed(), counted::constructed());
}

BRIGADE_TEST(JoinHandle, AbortFromAPlainThread) {
  counted::reset();
  manual_event ev;
  auto h = bg::spawn(parked_counted(ev));
  co_await bg::testing::until_waiters(ev, 1);
  std::thread([&h] { h.abort(); }).join();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST_CURRENT_THREAD(JoinHandle, AbortBeforeStartBodyNeverRuns) {
  counted::reset();
  std::atomic<int> runs{0};
  auto h = bg::spawn(note_and_return(runs, counted{3}));
  h.abort();  // still queued behind this body (FIFO): it has not started
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(runs.load(), 0) << "an aborted task that never started must not run its body";
  h = {};
  EXPECT_EQ(counted::alive(), 0) << "its parameters are destroyed with the frame";
}

TEST(JoinHandle, AbortRemoteSpawnBeforeAnyBlockOn) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  counted::reset();
  std::atomic<int> runs{0};
  bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
  // current_thread runs tasks only inside block_on: this one cannot start.
  auto h = rt.spawn(note_and_return(runs, counted{3}), "never-started");
  h.abort();
  auto join = [](bg::join_handle<int>& jh) -> bg::task<int> { co_return co_await jh; };
  EXPECT_THROW((void)rt.block_on(join(h)), bg::cancelled);
  EXPECT_EQ(runs.load(), 0);
  h = {};
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST(JoinHandle, AbortOfAFinishedTaskHasNoEffect) {
  auto h = bg::spawn(forty_two());
  co_await bg::testing::until_finished(h);
  h.abort();
  EXPECT_TRUE(h.is_finished());
  EXPECT_EQ(co_await h, 42) << "the value of a finished task survives a late abort";

  auto f = bg::spawn(fails_after_yield("kept"));
  co_await bg::testing::until_finished(f);
  f.abort();
  EXPECT_THROW(co_await f, join_failure) << "a late abort does not turn a failure into cancelled";
}

BRIGADE_TEST(JoinHandle, AbortOnAnEmptyHandleIsANoOp) {
  bg::join_handle<int> h;
  h.abort();
  EXPECT_FALSE(h.valid());
  co_return;
}

// ---- detach -----------------------------------------------------------------

namespace {
bg::task<> finish_and_signal(std::atomic<bool>& done, manual_event& signal, manual_event& gate) {
  co_await gate.wait();
  co_await bg::yield_now();
  done.store(true);
  signal.set();
}
}  // namespace

BRIGADE_TEST(JoinHandle, DetachedTaskRunsToCompletion) {
  std::atomic<bool> done{false};
  manual_event signal;
  manual_event gate;
  auto h = bg::spawn(finish_and_signal(done, signal, gate), "detached");
  h.detach();
  EXPECT_FALSE(h.valid());
  EXPECT_FALSE(h.is_finished());
  gate.set();  // released only after the handle is gone
  co_await signal.wait();
  EXPECT_TRUE(done.load());
}

BRIGADE_TEST(JoinHandle, DroppedHandleDetaches) {
  std::atomic<bool> done{false};
  manual_event signal;
  manual_event gate;
  { auto h = bg::spawn(finish_and_signal(done, signal, gate), "dropped"); }
  gate.set();
  co_await signal.wait();
  EXPECT_TRUE(done.load());
}

// ---- moving -----------------------------------------------------------------

BRIGADE_TEST(JoinHandle, MoveTransfersOwnership) {
  auto a = bg::spawn(forty_two());
  bg::join_handle<int> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(b.valid());
  bg::join_handle<int> c;
  c = std::move(b);
  EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(co_await c, 42);
}

BRIGADE_TEST(JoinHandle, MoveAssignOverALiveHandleDetachesTheOldTask) {
  std::atomic<bool> done{false};
  manual_event signal;
  manual_event gate;
  auto wrap = [](std::atomic<bool>& d, manual_event& s, manual_event& g) -> bg::task<int> {
    co_await finish_and_signal(d, s, g);
    co_return 1;
  };
  auto h = bg::spawn(wrap(done, signal, gate));
  h = bg::spawn(forty_two());  // the first task is detached, not cancelled
  gate.set();
  co_await signal.wait();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(co_await h, 42);
}

namespace {
bg::task<int> join_elsewhere(bg::join_handle<int> h) { co_return co_await h + 1; }
}  // namespace

BRIGADE_TEST(JoinHandle, JoinedFromAnotherTask) {
  manual_event ev;
  auto inner = bg::spawn(bg::testing::parked_value(ev, 10));
  auto outer = bg::spawn(join_elsewhere(std::move(inner)));
  ev.set();
  EXPECT_EQ(co_await outer, 11);
}

// ---- the joiner is aborted --------------------------------------------------

namespace {
bg::task<int> joiner(bg::join_handle<int>& target, manual_event& entered) {
  entered.set();
  co_return co_await target;
}
}  // namespace

BRIGADE_TEST(JoinHandle, AbortingTheJoinerLeavesTheJoinedTaskRunning) {
  counted::reset();
  manual_event ev;
  manual_event entered;
  auto target = bg::spawn(parked_counted(ev), "target");
  auto j = bg::spawn(joiner(target, entered), "joiner");
  co_await entered.wait();
  co_await bg::testing::until_waiters(ev, 1);
  j.abort();
  EXPECT_THROW(co_await j, bg::cancelled);
  EXPECT_TRUE(target.valid()) << "the aborted joiner must not consume the handle";
  EXPECT_FALSE(target.is_finished()) << "aborting the joiner must not cancel the target";
  EXPECT_EQ(counted::alive(), 1);
  ev.set();
  EXPECT_EQ(co_await target, 1) << "the target can be awaited later";
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST(JoinHandle, AbortedJoinerCanBeReplacedByAnotherJoiner) {
  manual_event ev;
  manual_event entered1;
  manual_event entered2;
  auto target = bg::spawn(bg::testing::parked_value(ev, 4));
  auto j1 = bg::spawn(joiner(target, entered1));
  co_await entered1.wait();
  j1.abort();
  EXPECT_THROW(co_await j1, bg::cancelled);
  auto j2 = bg::spawn(joiner(target, entered2));
  co_await entered2.wait();
  ev.set();
  EXPECT_EQ(co_await j2, 4);
  EXPECT_FALSE(target.valid());
}

// ---- budget -----------------------------------------------------------------

BRIGADE_TEST_CURRENT_THREAD(JoinHandle, JoiningFinishedTasksSpendsTheBudget) {
  std::vector<bg::join_handle<int>> hs;
  for (int i = 0; i < 300; ++i) hs.push_back(bg::spawn(forty_two()));
  co_await bg::yield_now();  // FIFO: all 300 run before the body again
  for (auto& h : hs) EXPECT_TRUE(h.is_finished());
  const auto before = bg::current_runtime().metrics();
  int sum = 0;
  for (auto& h : hs) sum += co_await h;
  EXPECT_EQ(sum, 300 * 42);
  const auto after = bg::current_runtime().metrics();
  EXPECT_EQ(after.budget_forced_yields - before.budget_forced_yields, 2u)
      << "a join that is ready at once still takes budget: joins 129 and 258 yield";
}

// ---- outside a task -----------------------------------------------------------

TEST(JoinHandle, AwaitingOutsideATaskThrowsLogicError) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  manual_event ev;
  bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
  auto h = rt.spawn(bg::testing::parked_value(ev, 1));
  std::exception_ptr error;
  auto outside = [](std::exception_ptr&, bg::join_handle<int>& jh) -> bg::testing::eager {
    (void)co_await jh;
  };
  outside(error, h);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
  EXPECT_TRUE(h.valid());
  ev.set();
  auto join = [](bg::join_handle<int>& jh) -> bg::task<int> { co_return co_await jh; };
  EXPECT_EQ(rt.block_on(join(h)), 1);
}

// ---- unhandled failures -------------------------------------------------------

namespace {

bg::runtime_options options_with(bg::flavor f, failure_log& log) {
  bg::runtime_options o = bg::testing::options_for(f);
  o.unhandled_exception = log.hook();
  return o;
}

bg::task<> detach_a_failure(failure_log& log, unsigned& line) {
  line = __LINE__ + 1;
  bg::spawn(fails_after_yield("detached boom"), "doomed").detach();
  co_await log.reported.wait();
}

}  // namespace

TEST(JoinHandle, DetachedFailureIsReportedOnceWithNameAndLocation) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    failure_log log;
    unsigned line = 0;
    {
      bg::runtime rt{options_with(f, log)};
      rt.block_on(detach_a_failure(log, line));
      EXPECT_EQ(log.count(), 1u);
    }
    const auto entries = log.entries();
    ASSERT_EQ(entries.size(), 1u) << "reported exactly once, also after shutdown";
    EXPECT_EQ(entries[0].name, "doomed");
    EXPECT_TRUE(bg::testing::is_file(entries[0].file, "join_handle_test.cpp")) << entries[0].file;
    EXPECT_EQ(entries[0].line, line);
    EXPECT_EQ(entries[0].what, "detached boom");
  });
}

namespace {
bg::task<> drop_before_failure(failure_log& log) {
  manual_event gate;
  auto fail_later = [](manual_event& g) -> bg::task<int> {
    co_await g.wait();
    throw join_failure("dropped early");
  };
  { auto h = bg::spawn(fail_later(gate), "dropped-early"); }
  gate.set();
  co_await log.reported.wait();
}
}  // namespace

TEST(JoinHandle, HandleDroppedBeforeTheFailureReports) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    failure_log log;
    {
      bg::runtime rt{options_with(f, log)};
      rt.block_on(drop_before_failure(log));
    }
    const auto entries = log.entries();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].name, "dropped-early");
    EXPECT_EQ(entries[0].what, "dropped early");
  });
}

namespace {
bg::task<> drop_after_failure(failure_log& log, unsigned& line) {
  line = __LINE__ + 1;
  auto h = bg::spawn(fails_after_yield("never awaited"), "unawaited");
  co_await bg::testing::until_finished(h);
  EXPECT_EQ(log.count(), 0u) << "not reported while a handle could still observe it";
  h = {};  // dropped unawaited
  EXPECT_EQ(log.count(), 1u) << "reported when the handle is dropped";
}
}  // namespace

TEST(JoinHandle, DroppedUnawaitedFailedHandleReports) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    failure_log log;
    unsigned line = 0;
    {
      bg::runtime rt{options_with(f, log)};
      rt.block_on(drop_after_failure(log, line));
    }
    const auto entries = log.entries();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].name, "unawaited");
    EXPECT_TRUE(bg::testing::is_file(entries[0].file, "join_handle_test.cpp")) << entries[0].file;
    EXPECT_EQ(entries[0].line, line);
    EXPECT_EQ(entries[0].what, "never awaited");
  });
}

namespace {
bg::task<> await_failures() {
  auto h = bg::spawn(fails_after_yield("observed"), "observed");
  EXPECT_THROW(co_await h, join_failure);
  auto g = bg::spawn(fails_after_yield("observed later"), "observed-later");
  co_await bg::testing::until_finished(g);
  EXPECT_THROW((void)g.take_result(), join_failure);
}
bg::task<int> root_fails() {
  co_await bg::yield_now();
  throw join_failure("root");
}
}  // namespace

TEST(JoinHandle, AwaitedFailureIsNotReported) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    failure_log log;
    {
      bg::runtime rt{options_with(f, log)};
      rt.block_on(await_failures());
      EXPECT_THROW((void)rt.block_on(root_fails()), join_failure);
    }
    EXPECT_EQ(log.count(), 0u) << "a failure that was rethrown to someone is not unhandled";
  });
}

namespace {
bg::task<> cancel_in_every_way(manual_event& never) {
  // 1. aborted while joined, then awaited
  auto a = bg::spawn(bg::testing::parked_value(never, 1), "cancelled-awaited");
  // 2. aborted, finished, handle dropped unawaited
  auto b = bg::spawn(bg::testing::parked_value(never, 2), "cancelled-dropped");
  // 3. aborted, then detached before it finished
  auto c = bg::spawn(bg::testing::parked_value(never, 3), "cancelled-detached");
  // 4. never aborted, detached: destroyed by the runtime's shutdown
  bg::spawn(bg::testing::parked_value(never, 4), "shutdown-detached").detach();
  co_await bg::testing::until_waiters(never, 4);
  a.abort();
  b.abort();
  c.abort();
  c.detach();
  EXPECT_THROW(co_await a, bg::cancelled);
  co_await bg::testing::until_finished(b);
  b = {};
}
}  // namespace

TEST(JoinHandle, CancelledTasksAreNeverReported) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    failure_log log;
    manual_event never;
    {
      bg::runtime rt{options_with(f, log)};
      rt.block_on(cancel_in_every_way(never));
    }
    EXPECT_EQ(log.count(), 0u);
    EXPECT_EQ(never.waiters(), 0u) << "shutdown withdrew the last waiter";
  });
}

TEST(JoinHandle, DefaultHookKeepsTheRuntimeRunning) {
  // Without a hook the failure goes to stderr and the runtime carries on.
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    auto body = []() -> bg::task<int> {
      auto h = bg::spawn(fails_after_yield("printed to stderr"), "stderr-report");
      co_await bg::testing::until_finished(h);
      h.detach();
      co_return co_await bg::spawn(forty_two());
    };
    testing::internal::CaptureStderr();
    const int v = rt.block_on(body());
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(v, 42);
    EXPECT_NE(err.find("stderr-report"), std::string::npos) << err;
    EXPECT_NE(err.find("printed to stderr"), std::string::npos) << err;
    EXPECT_NE(err.find("join_handle_test.cpp"), std::string::npos) << err;
  });
}

TEST(JoinHandle, ThrowingHookDoesNotTakeTheRuntimeDown) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    std::atomic<int> calls{0};
    bg::runtime_options o = bg::testing::options_for(f);
    o.unhandled_exception = [&calls](std::exception_ptr, const bg::task_info&) {
      calls.fetch_add(1);
      throw std::runtime_error("hook failed");
    };
    bg::runtime rt{o};
    auto body = []() -> bg::task<int> {
      auto h = bg::spawn(fails_after_yield("x"));
      co_await bg::testing::until_finished(h);
      h.detach();
      co_return co_await bg::spawn(forty_two());
    };
    testing::internal::CaptureStderr();
    EXPECT_EQ(rt.block_on(body()), 42);
    (void)testing::internal::GetCapturedStderr();
    EXPECT_EQ(calls.load(), 1);
  });
}
