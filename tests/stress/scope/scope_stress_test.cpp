// Stress: task_group under 1, 2 and 4 workers (run under TSan and ASan):
// child completion racing the joiner's abort, the group's drop, and
// sibling cancellation; counted frames prove every child is destroyed
// exactly once.
#include <brigade/scope.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <stdexcept>

namespace bg = brigade;
using stress_counted = bg::testing::basic_counted<struct scope_stress_tag>;

namespace {

class ScopeStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime_options options() const {
    bg::runtime_options o;
    o.flavor = bg::flavor::multi_thread;
    o.worker_threads = GetParam();
    return o;
  }
};

constexpr int rounds = 60;

bg::task<int> child(int yields, int v) {
  stress_counted c{v};
  for (int i = 0; i < yields; ++i) co_await bg::yield_now();
  co_return c.value();
}

bg::task<int> failing(int yields) {
  stress_counted c;
  for (int i = 0; i < yields; ++i) co_await bg::yield_now();
  throw std::runtime_error("stress failure");
}

}  // namespace

TEST_P(ScopeStress, JoinerAbortRacesChildCompletion) {
  stress_counted::reset();
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  int finished = 0;
  int cancelled = 0;
  for (int r = 0; r < rounds; ++r) {
    auto parent = rt.spawn([](int round) -> bg::task<long> {
      bg::task_group<int> g;
      for (int i = 0; i < 8; ++i) g.spawn(child((round + i) % 5, i));
      long sum = 0;
      for (int v : co_await g.join_all()) sum += v;
      co_return sum;
    }(r));
    for (int spin = 0; spin < r % 7; ++spin) std::this_thread::yield();
    parent.abort();
    try {
      const long sum = rt.block_on(
          [](bg::join_handle<long>& h) -> bg::task<long> { co_return co_await h; }(parent));
      EXPECT_EQ(sum, 28);
      ++finished;
    } catch (const bg::cancelled&) {
      ++cancelled;
    }
    // Structured: once the parent finished, no child is alive.
    EXPECT_EQ(stress_counted::alive(), 0) << "round " << r;
  }
  EXPECT_EQ(finished + cancelled, rounds);
  EXPECT_EQ(stress_counted::destroyed(), stress_counted::constructed());
}

TEST_P(ScopeStress, DroppedGroupRacesChildCompletion) {
  stress_counted::reset();
  bg::testing::frame_accounting accounting;
  {
    bg::runtime rt{options()};
    for (int r = 0; r < rounds; ++r) {
      rt.block_on([](int round) -> bg::task<> {
        {
          bg::task_group<int> g;
          for (int i = 0; i < 6; ++i) g.spawn(child((round + i) % 3, i));
          for (int i = 0; i < round % 4; ++i) co_await bg::yield_now();
          if (round % 2 == 0) co_return;  // dropped: aborts and detaches the rest
          (void)co_await g.join_next();
        }
      }(r));
    }
    // Detached children finish on their own; wait for them without a clock.
    rt.block_on([]() -> bg::task<> {
      while (stress_counted::alive() != 0) co_await bg::yield_now();
    }());
  }
  EXPECT_EQ(stress_counted::alive(), 0);
  EXPECT_EQ(stress_counted::destroyed(), stress_counted::constructed());
}

TEST_P(ScopeStress, FailuresCancelSiblingsExactlyOnce) {
  stress_counted::reset();
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  for (int r = 0; r < rounds; ++r) {
    const bool threw = rt.block_on([](int round) -> bg::task<bool> {
      bg::task_group<int> g;
      for (int i = 0; i < 6; ++i) {
        if (i == round % 6 || i == (round + 3) % 6) {
          g.spawn(failing(i % 3));
        } else {
          g.spawn(child(i * 2, i));
        }
      }
      try {
        (void)co_await g.join_all();
      } catch (const std::runtime_error&) {
        co_return true;
      }
      co_return false;
    }(r));
    EXPECT_TRUE(threw);
    EXPECT_EQ(stress_counted::alive(), 0) << "round " << r;
  }
  EXPECT_EQ(stress_counted::destroyed(), stress_counted::constructed());
}

TEST_P(ScopeStress, JoinNextDrainsConcurrentSpawners) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  const long total = rt.block_on([]() -> bg::task<long> {
    bg::task_group<int> g;
    // Children spawn grandchildren into the same group while we drain it.
    for (int i = 0; i < 16; ++i) {
      g.spawn([](bg::task_group<int>& grp, int v) -> bg::task<int> {
        for (int k = 0; k < 4; ++k) grp.spawn(child(k, 1));
        co_return v;
      }(g, i));
    }
    long sum = 0;
    while (auto v = co_await g.join_next()) sum += *v;
    co_return sum;
  }());
  EXPECT_EQ(total, 120 + 16 * 4);
}

INSTANTIATE_TEST_SUITE_P(Workers, ScopeStress, ::testing::Values(1u, 2u, 4u));
