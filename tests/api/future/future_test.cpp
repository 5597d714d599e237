// promise<T> / future<T>: the three ways to consume (co_await, get, then),
// broken promises, unobserved exceptions, cancellation, and as_task.
#include <brigade/future.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>
#include <brigade/when.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;
using namespace std::chrono_literals;

namespace {

/// Collects what the unobserved-error handler receives, for one scope.
class captured_errors {
 public:
  captured_errors() {
    previous_ =
        bg::set_unobserved_error_handler([this](std::exception_ptr e, std::string_view ctx) {
          std::string what;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            what = ex.what();
          }
          std::lock_guard lock(mutex_);
          entries_.push_back(std::string(ctx) + ": " + what);
        });
  }
  captured_errors(const captured_errors&) = delete;
  captured_errors& operator=(const captured_errors&) = delete;
  ~captured_errors() { bg::set_unobserved_error_handler(std::move(previous_)); }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
  bg::unobserved_error_handler previous_;
};

}  // namespace

// ---- plain threads ----

TEST(Future, GetReturnsTheValueSetOnAnotherThread) {
  bg::promise<std::string> p;
  bg::future<std::string> f = p.get_future();
  EXPECT_TRUE(f.valid());
  EXPECT_FALSE(f.is_ready());
  std::thread t([p = std::move(p)]() mutable { p.set_value("done"); });
  EXPECT_EQ(f.get(), "done");
  EXPECT_FALSE(f.valid()) << "get consumes the future";
  t.join();
}

TEST(Future, WaitForTimesOutThenSucceeds) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  EXPECT_FALSE(f.wait_for(1ms));
  p.set_value(3);
  EXPECT_TRUE(f.wait_for(0ms));
  f.wait();
  EXPECT_EQ(f.get(), 3);
}

TEST(Future, VoidFuture) {
  bg::promise<void> p;
  bg::future<void> f = p.get_future();
  std::thread t([&p] { p.set_value(); });
  f.get();
  t.join();
}

TEST(Future, SetExceptionIsRethrown) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  p.set_exception(std::make_exception_ptr(std::runtime_error("bad")));
  EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(Future, BrokenPromise) {
  bg::future<int> f;
  {
    bg::promise<int> p;
    f = p.get_future();
  }
  EXPECT_TRUE(f.is_ready());
  EXPECT_THROW(f.get(), bg::broken_promise);
}

TEST(Future, MisuseIsALogicError) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  EXPECT_THROW((void)p.get_future(), std::logic_error);
  p.set_value(1);
  EXPECT_THROW(p.set_value(2), std::logic_error);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(std::runtime_error("x"))), std::logic_error);
  EXPECT_EQ(f.get(), 1);
  EXPECT_THROW((void)f.get(), std::logic_error) << "consumed";
}

TEST(Future, UnobservedExceptionIsReported) {
  captured_errors errors;
  {
    bg::promise<int> p;
    bg::future<int> f = p.get_future();
    p.set_exception(std::make_exception_ptr(std::runtime_error("lost")));
  }
  ASSERT_EQ(errors.entries().size(), 1u);
  EXPECT_NE(errors.entries()[0].find("lost"), std::string::npos);
}

TEST(Future, ObservedOrUnconsumedPromisesAreQuiet) {
  captured_errors errors;
  {
    bg::promise<int> p;
    bg::future<int> f = p.get_future();
    p.set_exception(std::make_exception_ptr(std::runtime_error("seen")));
    EXPECT_THROW(f.get(), std::runtime_error);
  }
  { bg::promise<int> nobody_listens; }
  {
    bg::promise<int> p;
    { bg::future<int> dropped = p.get_future(); }
  }  // broken, but nobody can observe it: not reported
  EXPECT_TRUE(errors.entries().empty());
}

TEST(Future, BrokenPromiseDroppedUnobservedIsReported) {
  captured_errors errors;
  {
    bg::future<int> f;
    {
      bg::promise<int> p;
      f = p.get_future();
    }
  }
  ASSERT_EQ(errors.entries().size(), 1u);
  EXPECT_NE(errors.entries()[0].find("broken promise"), std::string::npos);
}

// ---- then ----

TEST(FutureThen, RunsOnTheFulfillingThread) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  std::thread::id ran_on;
  int got = 0;
  bg::future<void> done = f.then([&](int v) {
    ran_on = std::this_thread::get_id();
    got = v;
  });
  EXPECT_FALSE(f.valid()) << "then consumes the future";
  std::thread t([&p] { p.set_value(11); });
  const auto fulfiller = t.get_id();
  t.join();
  EXPECT_EQ(got, 11);
  EXPECT_EQ(ran_on, fulfiller);
  done.get();
}

TEST(FutureThen, RunsInlineWhenReady) {
  bg::promise<int> p;
  p.set_value(2);
  // get_future after set_value is fine too
  bg::future<int> f = p.get_future();
  int got = 0;
  (void)f.then([&](int v) { got = v; });
  EXPECT_EQ(got, 2);
}

TEST(FutureThen, ChainsResultsAndForwardsErrors) {
  bg::promise<int> p;
  bg::future<std::string> s = p.get_future().then([](int v) { return v * 2; }).then([](int v) {
    return std::to_string(v);
  });
  p.set_value(21);
  EXPECT_EQ(s.get(), "42");

  bg::promise<int> q;
  bool called = false;
  bg::future<int> r = q.get_future().then([&](int v) {
    called = true;
    return v;
  });
  q.set_exception(std::make_exception_ptr(std::runtime_error("skip")));
  EXPECT_FALSE(called);
  EXPECT_THROW(r.get(), std::runtime_error);
}

TEST(FutureThen, CallbackExceptionLandsInTheReturnedFuture) {
  bg::promise<void> p;
  bg::future<int> r = p.get_future().then([]() -> int { throw std::runtime_error("cb"); });
  p.set_value();
  EXPECT_THROW(r.get(), std::runtime_error);
}

TEST(FutureThen, TryStyleSeesTheError) {
  bg::promise<int> p;
  std::string seen;
  bg::future<void> done = p.get_future().then([&](bg::future<int> r) {
    try {
      (void)r.get();
    } catch (const std::exception& e) {
      seen = e.what();
    }
  });
  p.set_exception(std::make_exception_ptr(std::runtime_error("oops")));
  done.get();
  EXPECT_EQ(seen, "oops");
}

TEST(FutureThen, OnRuntimeRunsAsATask) {
  bg::testing::for_each_flavor([](bg::flavor fl) {
    bg::runtime rt{bg::testing::options_for(fl)};
    bg::promise<int> p;
    std::atomic<bool> in_task{false};
    bg::future<int> plus = p.get_future().then(rt.handle(), [&in_task](int v) {
      in_task.store(bg::detail::current_task() != nullptr);
      return v + 1;
    });
    bg::future<int> twice = plus.then(rt.handle(), [](int v) -> bg::task<int> {
      co_await bg::yield_now();
      co_return v * 2;
    });
    p.set_value(4);
    const int result = rt.block_on(
        [](bg::future<int> f) -> bg::task<int> { co_return co_await f; }(std::move(twice)));
    EXPECT_EQ(result, 10);
    EXPECT_TRUE(in_task.load());
  });
}

TEST(FutureThen, OnShutDownRuntimeBreaksThePromise) {
  bg::runtime rt{bg::testing::options_for(bg::flavor::multi_thread)};
  auto handle = rt.handle();
  rt.shutdown();
  bg::promise<int> p;
  bg::future<int> r = p.get_future().then(handle, [](int v) { return v; });
  p.set_value(1);
  bool failed = false;
  try {
    (void)r.get();
  } catch (const bg::cancelled&) {
    failed = true;
  } catch (const bg::broken_promise&) {
    failed = true;
  }
  EXPECT_TRUE(failed);
}

// ---- tasks ----

BRIGADE_TEST(FutureTask, AwaitReadyFutureDoesNotSuspend) {
  bg::promise<int> p;
  p.set_value(5);
  bg::future<int> f = p.get_future();
  const auto polls = bg::current_runtime().metrics().polls;
  EXPECT_EQ(co_await f, 5);
  EXPECT_EQ(bg::current_runtime().metrics().polls, polls);
  EXPECT_FALSE(f.valid());
}

BRIGADE_TEST(FutureTask, AwaitValueFromAPlainThread) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  std::thread t([p = std::move(p)]() mutable {
    std::this_thread::yield();
    p.set_value(8);
  });
  EXPECT_EQ(co_await f, 8);
  t.join();
}

BRIGADE_TEST(FutureTask, AwaitVoidErrorAndBroken) {
  bg::promise<void> p;
  auto h = bg::spawn([](bg::future<void> f) -> bg::task<> { co_await f; }(p.get_future()));
  co_await bg::yield_now();
  p.set_value();
  co_await h;

  bg::promise<int> q;
  bg::future<int> fq = q.get_future();
  auto setter = bg::spawn([](bg::promise<int> pr) -> bg::task<> {
    co_await bg::yield_now();
    pr.set_exception(std::make_exception_ptr(std::runtime_error("e")));
  }(std::move(q)));
  EXPECT_THROW((void)co_await fq, std::runtime_error);
  co_await setter;

  bg::future<int> broken;
  {
    bg::promise<int> dropped;
    broken = dropped.get_future();
  }
  EXPECT_THROW((void)co_await broken, bg::broken_promise);
}

BRIGADE_TEST(FutureTask, GetOnARuntimeThreadIsRefusedUnlessReady) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  EXPECT_THROW((void)f.get(), std::logic_error);
  EXPECT_TRUE(f.valid()) << "the refusal consumes nothing";
  p.set_value(1);
  EXPECT_EQ(f.get(), 1);
  co_return;
}

BRIGADE_TEST(FutureTask, AbortedAwaiterLeavesTheValueInTheFuture) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  auto h = bg::spawn([](bg::future<int>& fut) -> bg::task<int> { co_return co_await fut; }(f));
  for (int i = 0; i < 5; ++i) co_await bg::yield_now();
  h.abort();
  EXPECT_THROW((void)co_await h, bg::cancelled);
  EXPECT_TRUE(f.valid());
  p.set_value(13);
  EXPECT_EQ(co_await f, 13) << "nothing was lost";
}

BRIGADE_TEST(FutureTask, AsTaskComposesWithWhenAll) {
  bg::promise<int> p1;
  bg::promise<std::string> p2;
  auto both = bg::spawn([](bg::future<int> a, bg::future<std::string> b) -> bg::task<std::string> {
    auto [x, y] = co_await bg::when_all(bg::as_task(std::move(a)), bg::as_task(std::move(b)));
    co_return y + std::to_string(x);
  }(p1.get_future(), p2.get_future()));
  co_await bg::yield_now();
  p2.set_value("n=");
  p1.set_value(4);
  EXPECT_EQ(co_await both, "n=4");
}

BRIGADE_TEST(FutureTask, WhenAllAndWhenAnyAcceptFuturesDirectly) {
  bg::promise<int> p1;
  bg::promise<int> p2;
  bg::promise<int> p3;
  auto both = bg::spawn([](bg::future<int> a, bg::future<int> b) -> bg::task<int> {
    // A future and a task mixed, without as_task.
    auto [x, y] = co_await bg::when_all(std::move(a), [](bg::future<int> f) -> bg::task<int> {
      co_return co_await f;
    }(std::move(b)));
    co_return x * 10 + y;
  }(p1.get_future(), p2.get_future()));
  auto first = bg::spawn([](bg::future<int> c) -> bg::task<std::size_t> {
    std::vector<bg::future<int>> fs;
    fs.push_back(std::move(c));
    auto r = co_await bg::when_any(std::move(fs));
    co_return r.index;
  }(p3.get_future()));
  co_await bg::yield_now();
  p1.set_value(4);
  p2.set_value(2);
  p3.set_value(9);
  EXPECT_EQ(co_await both, 42);
  EXPECT_EQ(co_await first, 0u);
}

BRIGADE_TEST(FutureTask, ThenFromATaskRunsOnTheFulfillingWorker) {
  bg::promise<int> p;
  std::atomic<int> got{0};
  bg::future<void> done = p.get_future().then([&got](int v) { got.store(v); });
  auto setter = bg::spawn([](bg::promise<int> pr) -> bg::task<> {
    pr.set_value(6);
    co_return;
  }(std::move(p)));
  co_await setter;
  EXPECT_EQ(got.load(), 6);
  co_await done;
}

TEST(FutureTask, ShutdownDestroysAParkedAwaiter) {
  bg::testing::for_each_flavor([](bg::flavor fl) {
    bg::testing::frame_accounting accounting;
    bg::promise<int> p;
    {
      bg::runtime rt{bg::testing::options_for(fl)};
      auto h = rt.spawn(
          [](bg::future<int> f) -> bg::task<int> { co_return co_await f; }(p.get_future()));
      rt.block_on([]() -> bg::task<> {
        for (int i = 0; i < 10; ++i) co_await bg::yield_now();
      }());
      rt.shutdown();
    }
    p.set_value(1);  // the awaiter withdrew: the value goes nowhere, safely
  });
}
