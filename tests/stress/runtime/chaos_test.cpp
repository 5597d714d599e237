// Chaos scheduling (RELIABILITY.md R2): BRIGADE_CHAOS perturbs the workers'
// choices; these checks run in every run of this executable, so the plain
// run proves chaos is off by default and the chaos runs (ctest label chaos)
// prove it is on and that the perturbed schedules still complete the work.
#include <brigade/detail/random.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace {

namespace bg = brigade;

bool chaos_requested() {
  const char* s = std::getenv("BRIGADE_CHAOS");
  return s != nullptr && *s != '\0' && *s != '0';
}

TEST(Chaos, CoinFollowsTheEnvironment) {
  EXPECT_EQ(bg::detail::chaos_enabled(), chaos_requested());
  int heads = 0;
  for (int i = 0; i < 10000; ++i) heads += bg::detail::chaos_coin(4) ? 1 : 0;
  if (chaos_requested()) {
    EXPECT_GT(heads, 1500) << "about a quarter of the draws";
    EXPECT_LT(heads, 3500);
  } else {
    EXPECT_EQ(heads, 0) << "chaos off: never perturb";
  }
}

bg::task<int> ping_chain(int depth) {
  if (depth == 0) co_return 0;
  auto child = bg::spawn(ping_chain(depth - 1));
  co_await bg::yield_now();
  co_return 1 + co_await child;
}

TEST(Chaos, PerturbedSchedulesStillCompleteEveryTask) {
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 4}};
  const int total = rt.block_on([]() -> bg::task<int> {
    std::vector<bg::join_handle<int>> hs;
    for (int i = 0; i < 200; ++i) hs.push_back(bg::spawn(ping_chain(50)));
    int sum = 0;
    for (auto& h : hs) sum += co_await h;
    co_return sum;
  }());
  EXPECT_EQ(total, 200 * 50);
  // block_on returns once the root completes; the worker that ran it
  // unregisters it just after, so count after shutdown.
  rt.shutdown();
  EXPECT_EQ(rt.metrics().live_tasks, 0u);
}

}  // namespace
