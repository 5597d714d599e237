// Stress: cancellation sources under 1, 2 and 4 workers (run under TSan and
// ASan): request racing registration, deregistration, token.cancelled()
// waiters being aborted, and uncancellable racing the parent's abort.
#include <brigade/cancellation.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <optional>
#include <thread>
#include <vector>

namespace bg = brigade;

namespace {

class CancellationStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime_options options() const {
    bg::runtime_options o;
    o.flavor = bg::flavor::multi_thread;
    o.worker_threads = GetParam();
    return o;
  }
};

constexpr int rounds = 120;

}  // namespace

TEST_P(CancellationStress, RequestRacesRegistrationAndRemoval) {
  for (int r = 0; r < rounds; ++r) {
    bg::cancellation_source src;
    bg::cancellation_source child{src.token()};
    std::atomic<int> calls{0};
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < GetParam(); ++t) {
      ts.emplace_back([&] {
        for (int i = 0; i < 8; ++i) {
          std::optional<bg::cancellation_callback<std::function<void()>>> cb;
          cb.emplace(child.token(), std::function<void()>([&] { calls.fetch_add(1); }));
          if (i % 2 == 0) cb.reset();
        }
      });
    }
    src.request_cancellation();
    for (auto& t : ts) t.join();
    EXPECT_TRUE(child.is_cancellation_requested());
  }
}

TEST_P(CancellationStress, WaitersAbortedWhileRequested) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  int woke = 0;
  int aborted = 0;
  for (int r = 0; r < rounds; ++r) {
    bg::cancellation_source src;
    auto h = rt.spawn([](bg::cancellation_token tok) -> bg::task<int> {
      co_await tok.cancelled();
      co_return 1;
    }(src.token()));
    std::thread requester([&src] { src.request_cancellation(); });
    if (r % 2 == 0) h.abort();
    try {
      woke +=
          rt.block_on([](bg::join_handle<int>& jh) -> bg::task<int> { co_return co_await jh; }(h));
    } catch (const bg::cancelled&) {
      ++aborted;
    }
    requester.join();
  }
  EXPECT_EQ(woke + aborted, rounds);
}

TEST_P(CancellationStress, UncancellableRacesAbort) {
  bg::testing::frame_accounting accounting;
  bg::runtime rt{options()};
  for (int r = 0; r < rounds; ++r) {
    std::atomic<int> cleaned{0};
    std::atomic<bool> entered{false};
    auto h = rt.spawn([](std::atomic<int>& c, std::atomic<bool>& in) -> bg::task<> {
      in.store(true);
      co_await bg::uncancellable([](std::atomic<int>& cc) -> bg::task<> {
        for (int i = 0; i < 3; ++i) co_await bg::yield_now();
        cc.fetch_add(1);
      }(c));
      co_await bg::yield_now();
    }(cleaned, entered));
    for (int spin = 0; spin < r % 5; ++spin) std::this_thread::yield();
    h.abort();
    try {
      rt.block_on([](bg::join_handle<void>& jh) -> bg::task<> { co_await jh; }(h));
    } catch (const bg::cancelled&) {
    }
    // Either the body never started, or the shielded part ran to its end.
    if (entered.load()) {
      EXPECT_EQ(cleaned.load(), 1) << "round " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, CancellationStress, ::testing::Values(1u, 2u, 4u));
