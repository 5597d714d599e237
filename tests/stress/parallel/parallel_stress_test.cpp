// parallel_for / parallel_reduce under load on 1, 2 and 4 workers: many
// small loops, nested loops, failures racing with completion, and plain
// threads calling into the same runtime at once.

#include <brigade/parallel.hpp>

#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bg = brigade;

namespace {

class ParallelStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime_options options() const {
    return bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = GetParam()};
  }
};

TEST_P(ParallelStress, ManySmallLoopsFromSeveralThreads) {
  bg::runtime rt{options()};
  std::vector<std::thread> callers;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&, t] {
      for (int round = 0; round < 300; ++round) {
        const int n = 1 + (round * 37 + t) % 500;
        std::vector<std::atomic<int>> hit(static_cast<std::size_t>(n));
        bg::parallel_for(rt, 0, n, bg::grain_size{static_cast<std::size_t>(1 + round % 7)},
                         [&](int i) { hit[static_cast<std::size_t>(i)]++; });
        for (auto& h : hit) {
          if (h != 1) mismatches++;
        }
        const std::int64_t s = bg::parallel_reduce(rt, std::int64_t{0}, std::int64_t{n},
                                                   std::int64_t{0}, std::plus<>{});
        if (s != std::int64_t{n} * (n - 1) / 2) mismatches++;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_P(ParallelStress, NestedLoopsInTasksAndBodies) {
  bg::runtime rt{options()};
  for (int round = 0; round < 20; ++round) {
    std::atomic<long> sum{0};
    rt.block_on([](bg::runtime& r, std::atomic<long>& s) -> bg::task<> {
      auto outer = [&](int i) {
        bg::parallel_for(r, 0, 50, bg::grain_size{3}, [&](int j) { s += i * j; });
      };
      co_await bg::parallel_for_async(0, 40, bg::grain_size{1}, outer);
    }(rt, sum));
    ASSERT_EQ(sum.load(), 780L * 1225L);
  }
}

TEST_P(ParallelStress, FailuresRaceWithCompletion) {
  bg::runtime rt{options()};
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    try {
      bg::parallel_for(rt, 0, 256, bg::grain_size{1}, [&](int i) {
        started++;
        if (i == round % 256 || i == (round * 7) % 256) throw std::runtime_error("x");
        finished++;
      });
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error&) {
    }
    // Nothing runs after the call returned.
    const int s = started.load();
    const int f = finished.load();
    std::this_thread::yield();
    ASSERT_EQ(started.load(), s);
    ASSERT_EQ(finished.load(), f);
    ASSERT_LE(f, s);
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, ParallelStress, ::testing::Values(1u, 2u, 4u));

}  // namespace
