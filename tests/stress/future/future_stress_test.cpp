// Stress: promise/future races under 1, 2 and 4 workers (run under TSan and
// ASan): fulfilment vs abort of the awaiter (completed XOR cancelled, and
// the value is never lost), fulfilment vs then(), many producers.
#include <brigade/future.hpp>

#include <brigade/callback.hpp>
#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace bg = brigade;

namespace {

class FutureStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime_options options() const {
    bg::runtime_options o;
    o.flavor = bg::flavor::multi_thread;
    o.worker_threads = GetParam();
    return o;
  }
};

constexpr int rounds = 200;

bg::task<int> await_future(bg::future<int>& f) { co_return co_await f; }

}  // namespace

TEST_P(FutureStress, FulfilVersusAbortLosesNothing) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  int completed = 0;
  int cancelled = 0;
  for (int r = 0; r < rounds; ++r) {
    bg::promise<int> p;
    bg::future<int> f = p.get_future();
    auto h = rt.spawn(await_future(f));
    std::thread setter([&p, r] { p.set_value(r); });
    if (r % 3 != 0) h.abort();
    try {
      const int v =
          rt.block_on([](bg::join_handle<int>& jh) -> bg::task<int> { co_return co_await jh; }(h));
      EXPECT_EQ(v, r);
      EXPECT_FALSE(f.valid());
      ++completed;
    } catch (const bg::cancelled&) {
      ++cancelled;
      setter.join();
      ASSERT_TRUE(f.valid()) << "the cancelled awaiter must leave the value in the future";
      EXPECT_EQ(f.get(), r);
      continue;
    }
    setter.join();
  }
  EXPECT_EQ(completed + cancelled, rounds);
  RecordProperty("completed", completed);
  RecordProperty("cancelled", cancelled);
}

TEST_P(FutureStress, ThenVersusSetRunsTheContinuationOnce) {
  for (int r = 0; r < rounds; ++r) {
    bg::promise<int> p;
    bg::future<int> f = p.get_future();
    std::atomic<int> calls{0};
    std::atomic<int> seen{-1};
    std::thread setter([&p, r] { p.set_value(r); });
    bg::future<void> done = f.then([&](int v) {
      calls.fetch_add(1);
      seen.store(v);
    });
    setter.join();
    done.get();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(seen.load(), r);
  }
}

TEST_P(FutureStress, ManyProducersManyAwaiters) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  constexpr int n = 256;
  std::vector<bg::promise<int>> ps(n);
  std::vector<bg::future<int>> fs;
  fs.reserve(n);
  for (auto& p : ps) fs.push_back(p.get_future());
  std::vector<bg::join_handle<int>> hs;
  hs.reserve(n);
  for (auto& f : fs) hs.push_back(rt.spawn(await_future(f)));
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&ps, t] {
      for (int i = t; i < n; i += 4) ps[static_cast<std::size_t>(i)].set_value(i);
    });
  }
  const long sum = rt.block_on([](std::vector<bg::join_handle<int>>& handles) -> bg::task<long> {
    long s = 0;
    for (auto& h : handles) s += co_await h;
    co_return s;
  }(hs));
  for (auto& t : producers) t.join();
  EXPECT_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
}

TEST_P(FutureStress, FromCallbackResolveVersusAbort) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  std::atomic<int> resolved{0};
  for (int r = 0; r < rounds; ++r) {
    std::thread resolver_thread;
    auto h = rt.spawn([](std::thread& th, std::atomic<int>& res) -> bg::task<int> {
      co_return co_await bg::from_callback<int>([&th, &res](bg::resolver<int> resolve) {
        th = std::thread([resolve, &res] {
          if (resolve(1)) res.fetch_add(1);
        });
      });
    }(resolver_thread, resolved));
    if (r % 2 == 0) h.abort();
    try {
      (void)rt.block_on(
          [](bg::join_handle<int>& jh) -> bg::task<int> { co_return co_await jh; }(h));
    } catch (const bg::cancelled&) {
    }
    if (resolver_thread.joinable()) resolver_thread.join();
  }
  EXPECT_LE(resolved.load(), rounds);
}

INSTANTIATE_TEST_SUITE_P(Workers, FutureStress, ::testing::Values(1u, 2u, 4u));
