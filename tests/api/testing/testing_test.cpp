#include <brigade/testing/test.hpp>

#include <brigade/detail/context.hpp>
#include <brigade/detail/frame_allocator.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <gtest/gtest-spi.h>

#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace bg = brigade;
using bg::testing::manual_event;
using bg::testing::scoped_env;

namespace {

constexpr const char* flavor_env = "BRIGADE_TEST_FLAVOR";

// State the bodies below report through (a run_test body takes no arguments).
std::vector<std::size_t> g_workers;
std::vector<bg::runtime_handle> g_runtimes;
bool g_reached_after_assert = false;
std::coroutine_handle<> g_leaked;
manual_event g_never;  // outlives every runtime of this file

bg::task<> record_body() {
  g_workers.push_back(bg::current_runtime().metrics().workers);
  g_runtimes.push_back(bg::current_runtime());
  co_return;
}

bg::task<> throwing_body() {
  co_await bg::yield_now();
  throw std::runtime_error("boom from the body");
}

bg::task<> throwing_non_std_body() {
  co_await bg::yield_now();
  throw 42;
}

bg::task<int> leak_me() { co_return 1; }

bg::task<> leaking_body() {
  g_leaked = leak_me().release();  // a frame nobody destroys
  co_return;
}

bg::task<> failing_assert_body() {
  g_reached_after_assert = false;
  BRIGADE_CO_ASSERT(1 + 1 == 3);
  g_reached_after_assert = true;
}

bg::task<> passing_assert_body() {
  g_reached_after_assert = false;
  BRIGADE_CO_ASSERT(1 + 1 == 2);
  g_reached_after_assert = true;
}

bg::task<> leaves_a_parked_task_body() {
  bg::spawn(bg::testing::parked_value(g_never, 1), "left-parked").detach();
  co_await bg::testing::until_waiters(g_never, 1);
}

/// Runs `f` and returns how many failures (fatal or not) it recorded.
template <class F>
int failures_in(F&& f) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    f();
  }
  int n = 0;
  for (int i = 0; i < results.size(); ++i) {
    if (results.GetTestPartResult(i).failed()) ++n;
  }
  return n;
}

}  // namespace

// ---- options and flavor selection ---------------------------------------------

TEST(Testing, FlavorNames) {
  EXPECT_STREQ(bg::testing::flavor_name(bg::flavor::current_thread), "current_thread");
  EXPECT_STREQ(bg::testing::flavor_name(bg::flavor::multi_thread), "multi_thread");
}

TEST(Testing, TestOptions) {
  for (bg::flavor f : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
    const bg::runtime_options o = bg::testing::test_options(f);
    EXPECT_EQ(o.flavor, f);
    EXPECT_EQ(o.worker_threads, 2u) << "multi_thread tests run on two workers";
    EXPECT_EQ(o.io, bg::io_backend::automatic);
    EXPECT_EQ(o.clock, bg::clock_kind::steady);
    EXPECT_TRUE(o.trace_path.empty());
    EXPECT_FALSE(o.unhandled_exception);
  }
}

TEST(Testing, FlavorSelectionFollowsTheEnvironment) {
  {
    scoped_env env(flavor_env, nullptr);
    EXPECT_TRUE(bg::testing::flavor_selected(bg::flavor::current_thread));
    EXPECT_TRUE(bg::testing::flavor_selected(bg::flavor::multi_thread));
  }
  {
    scoped_env env(flavor_env, "");
    EXPECT_TRUE(bg::testing::flavor_selected(bg::flavor::current_thread));
    EXPECT_TRUE(bg::testing::flavor_selected(bg::flavor::multi_thread));
  }
  {
    scoped_env env(flavor_env, "current_thread");
    EXPECT_TRUE(bg::testing::flavor_selected(bg::flavor::current_thread));
    EXPECT_FALSE(bg::testing::flavor_selected(bg::flavor::multi_thread));
  }
  {
    scoped_env env(flavor_env, "multi_thread");
    EXPECT_FALSE(bg::testing::flavor_selected(bg::flavor::current_thread));
    EXPECT_TRUE(bg::testing::flavor_selected(bg::flavor::multi_thread));
  }
}

// ---- run_test ---------------------------------------------------------------

TEST(Testing, RunTestRunsTheBodyOnEachRequestedFlavor) {
  scoped_env env(flavor_env, nullptr);
  g_workers.clear();
  g_runtimes.clear();
  bg::testing::run_test(&record_body, {bg::flavor::current_thread});
  EXPECT_EQ(g_workers, std::vector<std::size_t>{1});
  bg::testing::run_test(&record_body, {});
  EXPECT_EQ(g_workers.size(), 1u) << "an empty flavor list runs nothing";
  g_runtimes.clear();
}

TEST(Testing, RunTestSkipsFlavorsTheEnvironmentExcludes) {
  g_workers.clear();
  {
    scoped_env env(flavor_env, "multi_thread");
    bg::testing::run_test(&record_body, {bg::flavor::current_thread});
  }
  EXPECT_TRUE(g_workers.empty());
  {
    scoped_env env(flavor_env, "current_thread");
    bg::testing::run_test(&record_body);  // both flavors requested, one selected
  }
  EXPECT_EQ(g_workers, std::vector<std::size_t>{1});
  g_runtimes.clear();
}

TEST(Testing, RunTestDefaultsToBothFlavors) {
  // Needs the multi_thread flavor: skipped while BRIGADE_TEST_FLAVOR excludes it.
  if (!bg::testing::flavor_selected(bg::flavor::multi_thread)) GTEST_SKIP();
  scoped_env env(flavor_env, nullptr);
  g_workers.clear();
  g_runtimes.clear();
  bg::testing::run_test(&record_body);
  EXPECT_EQ(g_workers, (std::vector<std::size_t>{1, 2})) << "current_thread, then multi_thread";
  ASSERT_EQ(g_runtimes.size(), 2u);
  EXPECT_FALSE(g_runtimes[0] == g_runtimes[1]);
  g_runtimes.clear();
}

TEST(Testing, EachRunGetsAFreshRuntime) {
  scoped_env env(flavor_env, nullptr);
  g_runtimes.clear();
  bg::testing::run_test(&record_body, {bg::flavor::current_thread});
  bg::testing::run_test(&record_body, {bg::flavor::current_thread});
  ASSERT_EQ(g_runtimes.size(), 2u);
  EXPECT_FALSE(g_runtimes[0] == g_runtimes[1]);
  // The runtimes were shut down when their runs ended.
  for (const auto& rt : g_runtimes) {
    auto h = rt.spawn(leak_me());
    EXPECT_TRUE(h.is_finished());
    EXPECT_THROW((void)h.take_result(), bg::cancelled);
  }
  g_runtimes.clear();
}

TEST(Testing, BodyExceptionIsAFailure) {
  scoped_env env(flavor_env, nullptr);
  EXPECT_NONFATAL_FAILURE(bg::testing::run_test(&throwing_body, {bg::flavor::current_thread}),
                          "test body threw: boom from the body");
  EXPECT_NONFATAL_FAILURE(
      bg::testing::run_test(&throwing_non_std_body, {bg::flavor::current_thread}),
      "test body threw a non-std exception");
}

TEST(Testing, LeakedFrameIsAFailure) {
  scoped_env env(flavor_env, nullptr);
  EXPECT_NONFATAL_FAILURE(bg::testing::run_test(&leaking_body, {bg::flavor::current_thread}),
                          "coroutine frames leaked");
  ASSERT_TRUE(g_leaked);
  g_leaked.destroy();
  g_leaked = {};
}

TEST(Testing, TasksLeftParkedAreDestroyedByTheRuntimeNotLeaked) {
  scoped_env env(flavor_env, nullptr);
  EXPECT_EQ(failures_in([] {
              bg::testing::run_test(&leaves_a_parked_task_body, {bg::flavor::current_thread});
            }),
            0);
  EXPECT_EQ(g_never.waiters(), 0u);
}

TEST(Testing, FrameAccountingBalancedScope) {
  EXPECT_EQ(failures_in([] {
              bg::testing::frame_accounting accounting;
              bg::task<int> t = leak_me();
              EXPECT_TRUE(t.valid());
            }),
            0);
}

TEST(Testing, FrameAccountingCatchesALeak) {
  EXPECT_NONFATAL_FAILURE(
      {
        bg::testing::frame_accounting accounting;
        g_leaked = leak_me().release();
      },
      "coroutine frames leaked");
  g_leaked.destroy();
  g_leaked = {};
}

TEST(Testing, FrameAccountingCatchesAnExtraFree) {
  g_leaked = leak_me().release();
  EXPECT_NONFATAL_FAILURE(
      {
        bg::testing::frame_accounting accounting;
        // Allocated before the scope, freed inside it: the count goes below
        // the baseline, as a double free would make it.
        g_leaked.destroy();
      },
      "coroutine frames leaked (or freed twice)");
  g_leaked = {};
}

TEST(Testing, CoAssertStopsTheBody) {
  scoped_env env(flavor_env, nullptr);
  EXPECT_NONFATAL_FAILURE(bg::testing::run_test(&failing_assert_body, {bg::flavor::current_thread}),
                          "Assertion failed: 1 + 1 == 3");
  EXPECT_FALSE(g_reached_after_assert);
  EXPECT_EQ(failures_in(
                [] { bg::testing::run_test(&passing_assert_body, {bg::flavor::current_thread}); }),
            0);
  EXPECT_TRUE(g_reached_after_assert);
}

// ---- the macros ---------------------------------------------------------------

BRIGADE_TEST(Testing, BodyRunsInsideASpawnedTask) {
  EXPECT_NE(bg::detail::current_task(), nullptr);
  bg::runtime_handle rt = bg::current_runtime();
  EXPECT_TRUE(rt);
  EXPECT_NE(rt.dump_tasks().find("'block_on'"), std::string::npos);
  EXPECT_EQ(rt.metrics().live_tasks, 1u) << "only the body";
  co_return;
}

BRIGADE_TEST_CURRENT_THREAD(Testing, CurrentThreadMacroUsesOneWorker) {
  EXPECT_EQ(bg::current_runtime().metrics().workers, 1u);
  co_return;
}
