// Fork-join on multi_thread: a join whose child is still at the tail of the
// joiner's own queue (or at its front: spawn N, join in order) runs it
// depth-first (worker::help_join), nested in the joiner's turn within
// limits, else from the run-next slot. These tests pin
// the order it gives, the limits (stack depth, fairness) and the paths where
// the child does not complete inside the nested run (aborted, suspends).
#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace bg = brigade;

namespace {

class ForkJoin : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime make_runtime() const {
    return bg::runtime{
        bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = GetParam()}};
  }
};

bg::task<std::int64_t> fib(int n) {
  if (n < 2) co_return n;
  bg::join_handle<std::int64_t> child = bg::spawn(fib(n - 1));
  const std::int64_t b = co_await fib(n - 2);
  const std::int64_t a = co_await child;
  co_return a + b;
}

TEST_P(ForkJoin, FibIsExactAndLeavesNoTask) {
  bg::runtime rt = make_runtime();
  EXPECT_EQ(rt.block_on(fib(20)), 6765);
  EXPECT_EQ(rt.block_on(fib(15)), 610);
  EXPECT_EQ(bg::testing::live_tasks_settled(rt), 0u);
  // fib(20) spawns fib(21) - 1 = 10,945 tasks, fib(15) 986.
  EXPECT_GE(rt.metrics().spawned, 10945u + 986u);
}

bg::task<void> record(std::vector<std::string>& order, std::string what) {
  order.push_back(std::move(what));
  co_return;
}

bg::task<std::vector<std::string>> spawn_two_join_last() {
  std::vector<std::string> order;
  bg::join_handle<void> first = bg::spawn(record(order, "first"));
  bg::join_handle<void> last = bg::spawn(record(order, "last"));
  co_await last;
  order.push_back("joined last");
  co_await first;
  co_return order;
}

TEST(ForkJoinOneWorker, TheChildJoinedRunsBeforeTasksQueuedEarlier) {
  // One worker: nobody steals. FIFO alone would run "first" before "last";
  // the join takes "last" back from the tail and runs it at once.
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 1}};
  const std::vector<std::string> order = rt.block_on(spawn_two_join_last());
  EXPECT_EQ(order, (std::vector<std::string>{"last", "joined last", "first"}));
}

bg::task<std::size_t> spawn_all_join_in_order(std::size_t n) {
  std::vector<bg::join_handle<std::size_t>> handles;
  handles.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    handles.push_back(bg::spawn([](std::size_t v) -> bg::task<std::size_t> { co_return v; }(i)));
  }
  std::size_t sum = 0;
  for (bg::join_handle<std::size_t>& h : handles) sum += co_await h;
  co_return sum;
}

TEST(ForkJoinOneWorker, JoiningTheOldestChildRunsItInTheJoinersTurn) {
  // Spawn N, then join them in spawn order: each child joined is at the
  // front of the queue, and the join takes it from there and runs it nested
  // (about one poll per child). Without that, the joiner would suspend on
  // every child and be polled again after it (two polls per child).
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 1}};
  constexpr std::size_t n = 1000;
  const std::uint64_t polls_before = rt.metrics().polls;
  EXPECT_EQ(rt.block_on(spawn_all_join_in_order(n)), n * (n - 1) / 2);
  const std::uint64_t polls = rt.metrics().polls - polls_before;
  EXPECT_GE(polls, n);
  EXPECT_LT(polls, n + n / 4) << "the joiner suspended on children it could run";
  EXPECT_EQ(bg::testing::live_tasks_settled(rt), 0u);
}

TEST_P(ForkJoin, JoinInSpawnOrderPastTheNestingAllowance) {
  // More children than one turn may run nested (max_inline_runs): the rest
  // go through the run-next slot, stealers take some from the front.
  bg::runtime rt = make_runtime();
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(rt.block_on(spawn_all_join_in_order(3000)), 3000u * 2999u / 2) << "round " << round;
  }
  EXPECT_EQ(bg::testing::live_tasks_settled(rt), 0u);
}

bg::task<std::uint64_t> chain(std::uint64_t depth) {
  if (depth == 0) co_return 0;
  bg::join_handle<std::uint64_t> next = bg::spawn(chain(depth - 1));
  co_return 1 + co_await next;
}

TEST_P(ForkJoin, DeepSpawnJoinChainDoesNotOverflowTheStack) {
  // Every level joins the child it just spawned: without the nesting limit
  // the worker's native stack would hold 20,000 nested turns.
  bg::runtime rt = make_runtime();
  EXPECT_EQ(rt.block_on(chain(20'000)), 20'000u);
  EXPECT_EQ(bg::testing::live_tasks_settled(rt), 0u);
}

bg::task<void> set_flag(std::atomic<bool>& flag) {
  flag.store(true);
  co_return;
}

bg::task<void> nothing() { co_return; }

bg::task<std::uint64_t> spawn_join_until(std::atomic<bool>& flag, std::uint64_t limit) {
  std::uint64_t i = 0;
  for (; i < limit && !flag.load(); ++i) {
    bg::join_handle<void> h = bg::spawn(nothing());
    co_await h;
  }
  co_return i;
}

bg::task<std::uint64_t> starve_attempt() {
  std::atomic<bool> flag{false};
  // Queued first, at the front; every later spawn is joined at once.
  bg::join_handle<void> other = bg::spawn(set_flag(flag));
  const std::uint64_t iterations = co_await spawn_join_until(flag, 1'000'000);
  co_await other;
  co_return iterations;
}

TEST(ForkJoinOneWorker, SpawnJoinLoopDoesNotStarveTheQueue) {
  // The loop never waits for anything but children it runs itself; the
  // per-turn limit and the fairness tick still give the front of the queue
  // its turn long before the loop ends.
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 1}};
  const std::uint64_t iterations = rt.block_on(starve_attempt());
  EXPECT_LT(iterations, 100'000u) << "the task queued first waited for the whole loop";
}

bg::task<int> never_runs(std::atomic<bool>& ran) {
  ran.store(true);
  co_return 1;
}

/// -1 when the join reported cancelled, else the child's value.
bg::task<int> join_aborted_child(std::atomic<bool>& ran) {
  bg::join_handle<int> h = bg::spawn(never_runs(ran));
  h.abort();
  try {
    co_return co_await h;
  } catch (const bg::cancelled&) {
  }
  co_return -1;
}

TEST_P(ForkJoin, AbortedChildJoinedAtOnceReportsCancelledAndNeverRuns) {
  bg::runtime rt = make_runtime();
  for (int round = 0; round < 100; ++round) {
    std::atomic<bool> ran{false};
    const int result = rt.block_on(join_aborted_child(ran));
    if (GetParam() == 1) {
      // Nobody can run the child before the abort: the join takes it back
      // and its nested run completes it as cancelled without its body.
      EXPECT_EQ(result, -1);
      EXPECT_FALSE(ran.load());
    } else {
      // Another worker may steal and finish it before the abort: then the
      // abort is too late and the value is delivered. Never both, never
      // neither.
      EXPECT_EQ(result == -1, !ran.load()) << "round " << round;
    }
  }
}

bg::task<int> yields_twice() {
  co_await bg::yield_now();
  co_await bg::yield_now();
  co_return 7;
}

bg::task<int> join_child_that_suspends() {
  int sum = 0;
  for (int i = 0; i < 50; ++i) {
    bg::join_handle<int> h = bg::spawn(yields_twice());
    sum += co_await h;  // the nested run ends with the child queued again
  }
  co_return sum;
}

TEST_P(ForkJoin, ChildThatSuspendsInTheNestedRunIsJoinedWhenItCompletes) {
  bg::runtime rt = make_runtime();
  EXPECT_EQ(rt.block_on(join_child_that_suspends()), 350);
  EXPECT_EQ(bg::testing::live_tasks_settled(rt), 0u);
}

INSTANTIATE_TEST_SUITE_P(Workers, ForkJoin, ::testing::Values(1u, 2u, 4u));

}  // namespace
