// brigade::task_group: results, join order, error policies, cancellation of
// the joiner, dropped groups, with_task_group, and frames destroyed once.
#include <brigade/scope.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bg = brigade;
using bg::testing::manual_event;
using child_counted = bg::testing::basic_counted<struct scope_child_tag>;

namespace {

bg::task<int> value_after_yields(int v, int yields) {
  child_counted c{v};
  for (int i = 0; i < yields; ++i) co_await bg::yield_now();
  co_return c.value();
}

bg::task<int> parked_child(manual_event& ev, int v) {
  child_counted c{v};
  co_await ev.wait();
  co_return c.value();
}

bg::task<int> failing_child(int yields) {
  child_counted c;
  for (int i = 0; i < yields; ++i) co_await bg::yield_now();
  throw std::runtime_error("child failed");
}

bg::task<> void_child(std::atomic<int>& done) {
  co_await bg::yield_now();
  done.fetch_add(1);
}

/// Yields until no counted child is alive (frames destroyed).
bg::task<> until_children_gone() {
  while (child_counted::alive() != 0) co_await bg::yield_now();
}

}  // namespace

BRIGADE_TEST(TaskGroup, JoinAllReturnsResultsInSpawnOrder) {
  child_counted::reset();
  bg::task_group<int> g;
  for (int i = 0; i < 8; ++i) g.spawn(value_after_yields(i, 8 - i));
  EXPECT_EQ(g.size(), 8u);
  std::vector<int> all = co_await g.join_all();
  EXPECT_EQ(all, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(g.size(), 0u);
  EXPECT_EQ(child_counted::alive(), 0);
  // Reusable after a join.
  g.spawn(value_after_yields(42, 1));
  const std::vector<int> again = co_await g.join_all();
  EXPECT_EQ(again, std::vector<int>{42});
}

BRIGADE_TEST(TaskGroup, VoidGroupJoinsEveryChild) {
  std::atomic<int> done{0};
  bg::task_group<> g;
  for (int i = 0; i < 5; ++i) g.spawn(void_child(done));
  co_await g.join_all();
  EXPECT_EQ(done.load(), 5);
  g.spawn(void_child(done));
  auto first = co_await g.join_next();
  EXPECT_TRUE(first.has_value());
  EXPECT_FALSE((co_await g.join_next()).has_value());
}

BRIGADE_TEST(TaskGroup, EmptyGroupCompletesAtOnce) {
  bg::task_group<int> g;
  EXPECT_TRUE((co_await g.join_all()).empty());
  EXPECT_FALSE((co_await g.join_next()).has_value());
}

BRIGADE_TEST(TaskGroup, JoinNextFollowsCompletionOrder) {
  child_counted::reset();
  manual_event a, b, c;
  bg::task_group<int> g;
  g.spawn(parked_child(a, 1));
  g.spawn(parked_child(b, 2));
  g.spawn(parked_child(c, 3));
  co_await bg::testing::until_waiters(b, 1);
  b.set();
  EXPECT_EQ(co_await g.join_next(), std::optional<int>(2));
  c.set();
  EXPECT_EQ(co_await g.join_next(), std::optional<int>(3));
  a.set();
  EXPECT_EQ(co_await g.join_next(), std::optional<int>(1));
  EXPECT_EQ(co_await g.join_next(), std::nullopt);
  EXPECT_EQ(child_counted::alive(), 0);
}

BRIGADE_TEST(TaskGroup, FirstFailureCancelsSiblings) {
  child_counted::reset();
  manual_event never;
  bg::task_group<int> g;  // on_error::cancel_siblings
  g.spawn(parked_child(never, 1));
  g.spawn(parked_child(never, 2));
  g.spawn(failing_child(3));
  bool threw = false;
  try {
    (void)co_await g.join_all();
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "child failed";
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(never.waiters(), 0u) << "siblings were aborted and awaited";
  EXPECT_EQ(child_counted::alive(), 0);
  EXPECT_EQ(child_counted::destroyed(), child_counted::constructed());
  // The group recovers: new children run normally.
  g.spawn(value_after_yields(7, 1));
  const std::vector<int> again = co_await g.join_all();
  EXPECT_EQ(again, std::vector<int>{7});
}

BRIGADE_TEST(TaskGroup, KeepGoingLetsSiblingsFinish) {
  child_counted::reset();
  manual_event ev;
  bg::task_group<int> g{bg::on_error::keep_going};
  g.spawn(parked_child(ev, 1));
  g.spawn(failing_child(0));
  // The failure does not abort the parked sibling: release it once the
  // failure has happened (one child left running).
  auto releaser = bg::spawn([](bg::task_group<int>& grp, manual_event& e) -> bg::task<> {
    while (grp.running() != 1) co_await bg::yield_now();
    co_await bg::testing::until_waiters(e, 1);
    e.set();
  }(g, ev));
  bool threw = false;
  try {
    (void)co_await g.join_all();
  } catch (const std::runtime_error&) {
    threw = true;
  }
  co_await releaser;
  EXPECT_TRUE(threw);
  EXPECT_EQ(ev.wakes(), 1u) << "the sibling ran to its end instead of being aborted";
  EXPECT_EQ(child_counted::alive(), 0);
}

BRIGADE_TEST(TaskGroup, JoinNextRethrowsThatChildsFailure) {
  bg::task_group<int> g{bg::on_error::keep_going};
  g.spawn(failing_child(0));
  bool threw = false;
  try {
    (void)co_await g.join_next();
  } catch (const std::runtime_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(g.size(), 0u);
}

BRIGADE_TEST(TaskGroup, AbortAllThenJoinAllThrowsCancelled) {
  child_counted::reset();
  manual_event never;
  bg::task_group<int> g;
  for (int i = 0; i < 4; ++i) g.spawn(parked_child(never, i));
  co_await bg::testing::until_waiters(never, 4);
  g.abort_all();
  bool cancelled = false;
  try {
    (void)co_await g.join_all();
  } catch (const bg::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(child_counted::alive(), 0);
}

BRIGADE_TEST(TaskGroup, JoinNextSkipsCancelledChildren) {
  manual_event never;
  bg::task_group<int> g;
  g.spawn(parked_child(never, 1));
  co_await bg::testing::until_waiters(never, 1);
  g.abort_all();
  g.spawn(value_after_yields(5, 2));
  EXPECT_EQ(co_await g.join_next(), std::optional<int>(5));
  EXPECT_EQ(co_await g.join_next(), std::nullopt);
}

BRIGADE_TEST(TaskGroup, AbortedJoinerCancelsAndAwaitsEveryChild) {
  child_counted::reset();
  manual_event never;
  std::atomic<bool> joining{false};
  std::atomic<long> alive_when_join_threw{-1};
  auto parent = bg::spawn(
      [](manual_event& ev, std::atomic<bool>& j, std::atomic<long>& alive) -> bg::task<int> {
        bg::task_group<int> g;
        for (int i = 0; i < 5; ++i) g.spawn(parked_child(ev, i));
        j.store(true);
        try {
          (void)co_await g.join_all();
        } catch (const bg::cancelled&) {
          alive.store(static_cast<long>(child_counted::alive()));
          throw;
        }
        co_return 0;
      }(never, joining, alive_when_join_threw));
  while (!joining.load()) co_await bg::yield_now();
  co_await bg::testing::until_waiters(never, 5);
  parent.abort();
  bool cancelled = false;
  try {
    (void)co_await parent;
  } catch (const bg::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(alive_when_join_threw.load(), 0) << "a child outlived the cancelled join";
  EXPECT_EQ(child_counted::destroyed(), child_counted::constructed());
}

BRIGADE_TEST(TaskGroup, JoinerAbortedBeforeJoinStillAwaitsChildren) {
  child_counted::reset();
  manual_event never, go;
  std::atomic<long> alive_after{-1};
  auto parent =
      bg::spawn([](manual_event& ev, manual_event& g0, std::atomic<long>& alive) -> bg::task<> {
        bg::task_group<int> g;
        for (int i = 0; i < 3; ++i) g.spawn(parked_child(ev, i));
        try {
          co_await g0.wait();  // aborted here
        } catch (const bg::cancelled&) {
        }
        try {
          (void)co_await g.join_all();
        } catch (const bg::cancelled&) {
          alive.store(static_cast<long>(child_counted::alive()));
        }
      }(never, go, alive_after));
  co_await bg::testing::until_waiters(never, 3);
  co_await bg::testing::until_waiters(go, 1);
  parent.abort();
  co_await parent;
  EXPECT_EQ(alive_after.load(), 0);
}

BRIGADE_TEST(TaskGroup, DroppedGroupAbortsAndDetachesChildren) {
  child_counted::reset();
  manual_event never;
  testing::internal::CaptureStderr();
  {
    bg::task_group<int> g;
    for (int i = 0; i < 3; ++i) g.spawn(parked_child(never, i));
    co_await bg::testing::until_waiters(never, 3);
  }
  const std::string err = testing::internal::GetCapturedStderr();
#if !defined(NDEBUG) || defined(BRIGADE_DEBUG)
  EXPECT_NE(err.find("task_group dropped with 3 running children"), std::string::npos) << err;
#endif
  co_await until_children_gone();
  EXPECT_EQ(never.waiters(), 0u);
  EXPECT_EQ(child_counted::destroyed(), child_counted::constructed());
}

BRIGADE_TEST(TaskGroup, DroppedGroupWithFinishedChildrenIsQuiet) {
  testing::internal::CaptureStderr();
  {
    bg::task_group<int> g;
    g.spawn(value_after_yields(1, 0));
    while (g.running() != 0) co_await bg::yield_now();
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

BRIGADE_TEST(TaskGroup, WithTaskGroupJoinsOnEveryPath) {
  child_counted::reset();
  manual_event never;
  // Normal path: what the body left is joined.
  const int n = co_await bg::with_task_group<int>([](bg::task_group<int>& g) -> bg::task<int> {
    g.spawn(value_after_yields(1, 3));
    g.spawn(value_after_yields(2, 1));
    co_return 2;
  });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(child_counted::alive(), 0);
  // Throwing path: the children are aborted and awaited before the throw.
  bool threw = false;
  try {
    co_await bg::with_task_group<int>([&never](bg::task_group<int>& g) -> bg::task<> {
      for (int i = 0; i < 3; ++i) g.spawn(parked_child(never, i));
      co_await bg::testing::until_waiters(never, 3);
      throw std::runtime_error("body failed");
    });
  } catch (const std::runtime_error&) {
    threw = true;
    EXPECT_EQ(child_counted::alive(), 0) << "a child outlived with_task_group";
  }
  EXPECT_TRUE(threw);
}

BRIGADE_TEST(TaskGroup, ChildrenMaySpawnSiblings) {
  bg::task_group<int> g;
  g.spawn([](bg::task_group<int>& grp) -> bg::task<int> {
    for (int i = 0; i < 3; ++i) grp.spawn(value_after_yields(10, 1));
    co_return 1;
  }(g));
  int sum = 0;
  while (auto v = co_await g.join_next()) sum += *v;
  EXPECT_EQ(sum, 31);
}

BRIGADE_TEST(TaskGroup, SecondConcurrentJoinerIsAnError) {
  manual_event ev;
  bg::task_group<int> g;
  g.spawn(parked_child(ev, 1));
  auto first = bg::spawn(
      [](bg::task_group<int>& grp) -> bg::task<std::size_t> {
        co_return (co_await grp.join_all()).size();
      }(g),
      "first-joiner");
  co_await bg::testing::until_waiters(ev, 1);
  // The first joiner is registered (else we would be the one to wait, for
  // a child released only after our join).
  BRIGADE_CO_ASSERT(co_await bg::testing::until_parked("first-joiner", "task_group"));
  bool logic = false;
  try {
    (void)co_await g.join_next();
  } catch (const std::logic_error&) {
    logic = true;
  }
  EXPECT_TRUE(logic);
  ev.set();
  EXPECT_EQ(co_await first, 1u);
}

BRIGADE_TEST(TaskGroup, SpawnOutsideRuntimeAndEmptyTaskThrow) {
  bg::task_group<int> g;
  EXPECT_THROW(g.spawn(bg::task<int>{}), std::invalid_argument);
  bg::task_group<int> moved = std::move(g);
  EXPECT_EQ(g.size(), 0u);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_THROW(g.spawn(value_after_yields(1, 0)), std::invalid_argument);
  co_return;
}

TEST(TaskGroup, SpawnOutsideRuntimeThrows) {
  bg::task_group<int> g;
  EXPECT_THROW(g.spawn(value_after_yields(1, 0)), std::logic_error);
}

TEST(TaskGroup, ShutdownDestroysParkedGroupAndChildren) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    child_counted::reset();
    manual_event never;
    bg::testing::frame_accounting accounting;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      auto h = rt.spawn([](manual_event& ev) -> bg::task<> {
        bg::task_group<int> g;
        for (int i = 0; i < 4; ++i) g.spawn(parked_child(ev, i));
        (void)co_await g.join_all();
      }(never));
      rt.block_on([](manual_event& ev) -> bg::task<> {
        co_await bg::testing::until_waiters(ev, 4);
      }(never));
      rt.shutdown();
      EXPECT_TRUE(h.is_finished());
    }
    EXPECT_EQ(child_counted::alive(), 0);
    EXPECT_EQ(never.waiters(), 0u);
  });
}

// Cancel-during-every-await sweep: the joiner is aborted after k of its
// awaits (k = 0..n); whatever k, every child frame is destroyed exactly once
// and no child is left parked.
BRIGADE_TEST(TaskGroup, AbortSweepOverEveryJoinNext) {
  constexpr int n = 4;
  for (int k = 0; k <= n + 1; ++k) {
    child_counted::reset();
    std::vector<manual_event> evs(n);
    std::atomic<int> progress{0};
    auto parent =
        bg::spawn([](std::vector<manual_event>& e, std::atomic<int>& prog) -> bg::task<int> {
          bg::task_group<int> g;
          for (int i = 0; i < n; ++i) g.spawn(parked_child(e[static_cast<std::size_t>(i)], i));
          int sum = 0;
          for (int i = 0; i < n; ++i) {
            e[static_cast<std::size_t>(i)].set();
            auto v = co_await g.join_next();
            sum += v.value_or(0);
            prog.fetch_add(1);
          }
          co_return sum;
        }(evs, progress));
    while (progress.load() < k && !parent.is_finished()) co_await bg::yield_now();
    parent.abort();
    try {
      const int sum = co_await parent;
      EXPECT_EQ(sum, 6);
    } catch (const bg::cancelled&) {
    }
    EXPECT_EQ(child_counted::alive(), 0) << "k=" << k;
    EXPECT_EQ(child_counted::destroyed(), child_counted::constructed()) << "k=" << k;
    for (auto& e : evs) EXPECT_EQ(e.waiters(), 0u) << "k=" << k;
  }
}
