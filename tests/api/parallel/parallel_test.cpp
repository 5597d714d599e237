#include <brigade/parallel.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/testing/test.hpp>

#include "support/helpers.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::for_each_flavor;
using bg::testing::options_for;

namespace {

class body_failure : public std::runtime_error {
 public:
  explicit body_failure(int at)
      : std::runtime_error("body failed at " + std::to_string(at)), at_(at) {}
  int at() const noexcept { return at_; }

 private:
  int at_;
};

/// Hit counts per index, for "each index exactly once" checks.
struct hits {
  explicit hits(std::size_t n) : count(n) {}
  std::vector<std::atomic<int>> count;
  bool each_once() const {
    return std::all_of(count.begin(), count.end(),
                       [](const std::atomic<int>& c) { return c == 1; });
  }
};

bool current_is_single_thread() { return bg::current_runtime().metrics().workers == 1; }

}  // namespace

TEST(ParallelFor, EveryIndexOnceOnBothFlavorsAndGrains) {
  for_each_flavor([](bg::flavor f) {
    bg::runtime rt{options_for(f)};
    for (std::size_t grain : {0u, 1u, 3u, 64u, 999u, 1000u, 5000u}) {
      SCOPED_TRACE(grain);
      hits h(1000);
      bg::parallel_for(rt, 0, std::size_t{1000}, bg::grain_size{grain},
                       [&](std::size_t i) { h.count[i].fetch_add(1); });
      EXPECT_TRUE(h.each_once());
    }
  });
}

TEST(ParallelFor, AcceptsARuntimeHandle) {
  for_each_flavor([](bg::flavor f) {
    bg::runtime rt{options_for(f)};
    const bg::runtime_handle handle = rt.handle();
    hits h(257);
    bg::parallel_for(handle, 0, 257, [&](int i) { h.count[static_cast<std::size_t>(i)]++; });
    EXPECT_TRUE(h.each_once());
  });
}

TEST(ParallelFor, EmptyAndReversedRangesCallNothing) {
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  std::atomic<int> calls{0};
  bg::parallel_for(rt, 5, 5, [&](int) { calls++; });
  bg::parallel_for(rt, 7, 3, [&](int) { calls++; });
  std::vector<int> none;
  bg::parallel_for(rt, none.begin(), none.end(), [&](int) { calls++; });
  EXPECT_EQ(calls.load(), 0);
}

TEST(ParallelFor, SignedRangeAcrossZero) {
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  hits h(200);
  bg::parallel_for(rt, -100, 100, bg::grain_size{7},
                   [&](int i) { h.count[static_cast<std::size_t>(i + 100)]++; });
  EXPECT_TRUE(h.each_once());
}

TEST(ParallelFor, IteratorRangePassesElementsByReference) {
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  std::vector<int> v(10'000);
  std::iota(v.begin(), v.end(), 0);
  bg::parallel_for(rt, v.begin(), v.end(), [](int& x) { x *= 2; });
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<int>(2 * i));
}

TEST(ParallelFor, WorkersParticipate) {
  // Chunk 0 runs on the calling thread first; it waits (bounded) until some
  // other chunk starts on another thread, which only a worker can do.
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> other_thread_ran{false};
  bg::parallel_for(rt, 0, 64, bg::grain_size{1}, [&](int i) {
    if (i == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!other_thread_ran && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
    } else if (std::this_thread::get_id() != caller) {
      other_thread_ran = true;
    }
  });
  EXPECT_TRUE(other_thread_ran.load());
}

TEST(ParallelFor, FirstExceptionPropagatesWithItsType) {
  for_each_flavor([](bg::flavor f) {
    bg::runtime rt{options_for(f)};
    try {
      bg::parallel_for(rt, 0, 100, bg::grain_size{1}, [](int i) {
        if (i % 10 == 3) throw body_failure(i);
      });
      ADD_FAILURE() << "no exception";
    } catch (const body_failure& e) {
      EXPECT_EQ(e.at() % 10, 3);
    }
    // The runtime is still usable afterwards.
    std::atomic<int> calls{0};
    bg::parallel_for(rt, 0, 100, [&](int) { calls++; });
    EXPECT_EQ(calls.load(), 100);
  });
}

TEST(ParallelFor, FailureSkipsChunksNotStarted) {
  // current_thread: nobody else runs chunks while the caller does, so the
  // caller's first chunk fails before any other starts: all are skipped.
  bg::runtime rt{options_for(bg::flavor::current_thread)};
  std::atomic<int> calls{0};
  EXPECT_THROW(bg::parallel_for(rt, 0, 1000, bg::grain_size{1},
                                [&](int i) {
                                  calls++;
                                  if (i == 0) throw body_failure(i);
                                }),
               body_failure);
  EXPECT_EQ(calls.load(), 1);
}

TEST(ParallelFor, NestedBlockingLoopsDoNotDeadlockOnOneWorker) {
  for (std::size_t workers : {1u, 2u}) {
    SCOPED_TRACE(workers);
    bg::runtime rt{
        bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = workers}};
    std::atomic<long> sum{0};
    bg::parallel_for(rt, 0, 16, bg::grain_size{1}, [&](int i) {
      bg::parallel_for(rt, 0, 16, bg::grain_size{1}, [&](int j) {
        bg::parallel_for(rt, 0, 8, bg::grain_size{1},
                         [&](int k) { sum += i * 10000 + j * 10 + k; });
      });
    });
    long expected = 0;
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 16; ++j)
        for (int k = 0; k < 8; ++k) expected += i * 10000 + j * 10 + k;
    EXPECT_EQ(sum.load(), expected);
  }
}

TEST(ParallelReduce, SumsIndicesForEveryGrain) {
  for_each_flavor([](bg::flavor f) {
    bg::runtime rt{options_for(f)};
    for (std::size_t grain : {0u, 1u, 10u, 333u, 100000u}) {
      SCOPED_TRACE(grain);
      const std::int64_t s =
          bg::parallel_reduce(rt, std::int64_t{0}, std::int64_t{100'000}, bg::grain_size{grain},
                              std::int64_t{0}, std::plus<>{});
      EXPECT_EQ(s, std::int64_t{100'000} * 99'999 / 2);
    }
  });
}

TEST(ParallelReduce, InitIsUsedOnceAndEmptyRangeReturnsIt) {
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  EXPECT_EQ(bg::parallel_reduce(rt, 0, 10, 100, std::plus<>{}), 145);
  EXPECT_EQ(bg::parallel_reduce(rt, 3, 3, 42, std::plus<>{}), 42);
}

TEST(ParallelReduce, IteratorRange) {
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  std::vector<std::int64_t> v(12'345);
  std::iota(v.begin(), v.end(), 1);
  const auto s = bg::parallel_reduce(rt, v.cbegin(), v.cend(), std::int64_t{0}, std::plus<>{});
  EXPECT_EQ(s, std::int64_t{12'345} * 12'346 / 2);
  const auto m = bg::parallel_reduce(rt, v.begin(), v.end(), std::int64_t{0},
                                     [](std::int64_t a, std::int64_t b) { return std::max(a, b); });
  EXPECT_EQ(m, 12'345);
}

TEST(ParallelReduce, KeepsRangeOrderForNonCommutativeOps) {
  for_each_flavor([](bg::flavor f) {
    bg::runtime rt{options_for(f)};
    std::string expected;
    for (int i = 0; i < 300; ++i) expected += std::to_string(i) + ",";
    const std::string got =
        bg::parallel_transform_reduce(rt, 0, 300, bg::grain_size{4}, std::string{}, std::plus<>{},
                                      [](int i) { return std::to_string(i) + ","; });
    EXPECT_EQ(got, expected);
  });
}

TEST(ParallelReduce, TransformReduceDotProduct) {
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  std::vector<double> x(1000, 0.5), y(1000, 4.0);
  const double d = bg::parallel_transform_reduce(rt, std::size_t{0}, x.size(), 0.0, std::plus<>{},
                                                 [&](std::size_t i) { return x[i] * y[i]; });
  EXPECT_DOUBLE_EQ(d, 2000.0);
}

TEST(ParallelReduce, ExceptionFromOpPropagates) {
  bg::runtime rt{options_for(bg::flavor::multi_thread)};
  EXPECT_THROW(bg::parallel_reduce(rt, 0, 1000, bg::grain_size{8}, 0,
                                   [](int a, int b) {
                                     if (b == 777) throw body_failure(b);
                                     return a + b;
                                   }),
               body_failure);
}

BRIGADE_TEST(ParallelAsync, ForCoversEveryIndexOnce) {
  // Lambdas are named before the co_await: g++ 12 destroys a capturing
  // closure temporary of a co_await expression twice (docs/guide/cpu-bound-work.md).
  auto h = std::make_shared<hits>(5000);
  auto bump = [h](int i) { h->count[static_cast<std::size_t>(i)]++; };
  co_await bg::parallel_for_async(0, 5000, bump);
  EXPECT_TRUE(h->each_once());
  co_await bg::parallel_for_async(0, 5000, bg::grain_size{1}, bump);
  EXPECT_TRUE(std::all_of(h->count.begin(), h->count.end(), [](auto& c) { return c == 2; }));
}

BRIGADE_TEST(ParallelAsync, EmptyRangeCompletesAtOnce) {
  int calls = 0;
  co_await bg::parallel_for_async(10, 10, [&](int) { ++calls; });
  const int r = co_await bg::parallel_reduce_async(10, 10, 7, std::plus<>{});
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(r, 7);
}

BRIGADE_TEST(ParallelAsync, ReduceAndTransformReduce) {
  std::vector<std::int64_t> v(20'000, 3);
  const auto s =
      co_await bg::parallel_reduce_async(v.begin(), v.end(), std::int64_t{1}, std::plus<>{});
  EXPECT_EQ(s, 60'001);
  const auto t = co_await bg::parallel_transform_reduce_async(
      0, 100, bg::grain_size{3}, std::int64_t{0}, std::plus<>{},
      [](int i) { return std::int64_t{i} * i; });
  EXPECT_EQ(t, 328'350);
}

BRIGADE_TEST(ParallelAsync, ExceptionPropagatesAndWaitsForRunningChunks) {
  auto started = std::make_shared<std::atomic<int>>(0);
  auto finished = std::make_shared<std::atomic<int>>(0);
  bool caught = false;
  try {
    auto body = [=](int i) {
      ++*started;
      if (i == 50) throw body_failure(i);
      ++*finished;
    };
    co_await bg::parallel_for_async(0, 200, bg::grain_size{1}, body);
  } catch (const body_failure& e) {
    caught = true;
    EXPECT_EQ(e.at(), 50);
  }
  EXPECT_TRUE(caught);
  // Every chunk that started has finished by the time the await returned.
  EXPECT_EQ(started->load(), finished->load() + 1);
}

BRIGADE_TEST(ParallelAsync, NestedBlockingInsideAsyncBody) {
  const bg::runtime_handle rt = bg::current_runtime();
  std::atomic<int> sum{0};
  co_await bg::parallel_for_async(0, 8, bg::grain_size{1}, [&](int i) {
    bg::parallel_for(rt, 0, 100, bg::grain_size{5}, [&](int j) { sum += i + j; });
  });
  EXPECT_EQ(sum.load(), 8 * 4950 + 100 * 28);
}

BRIGADE_TEST(ParallelAsync, BlockingFormInsideATaskCompletes) {
  std::atomic<int> calls{0};
  bg::parallel_for(bg::current_runtime(), 0, 1000, bg::grain_size{10}, [&](int) { calls++; });
  EXPECT_EQ(calls.load(), 1000);
  co_return;
}

BRIGADE_TEST(ParallelAsync, CancellationSkipsUnstartedChunks) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto self = std::make_shared<std::optional<bg::join_handle<void>>>();
  auto gate = std::make_shared<bg::testing::manual_event>();
  *self = bg::spawn([](auto calls_, auto self_, auto gate_) -> bg::task<> {
    co_await gate_->wait();  // until the handle is stored
    auto body = [=](int i) {
      ++*calls_;
      if (i == 0) (*self_)->abort();  // chunk 0 runs inline in this task
    };
    co_await bg::parallel_for_async(0, 1000, bg::grain_size{1}, body);
  }(calls, self, gate));
  gate->set();
  bool cancelled = false;
  try {
    co_await **self;
  } catch (const bg::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  if (current_is_single_thread()) {
    EXPECT_EQ(calls->load(), 1);
  } else {
    EXPECT_LT(calls->load(), 1000);
  }
  self->reset();
}

TEST(ParallelAsync, OutsideATaskThrowsLogicError) {
  std::exception_ptr error;
  [](std::exception_ptr&) -> bg::testing::eager {
    co_await bg::parallel_for_async(0, 10, [](int) {});
  }(error);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
}
