// The callback bridge: from_callback (callback API -> awaitable) and
// on_complete (task -> callback).
#include <brigade/callback.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/future.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::manual_event;

namespace {

/// A stand-in for a legacy API that calls back from its own thread.
struct legacy_service {
  std::vector<std::thread> threads;
  void async_add(int a, int b, std::function<void(int)> done) {
    threads.emplace_back([a, b, done = std::move(done)] { done(a + b); });
  }
  ~legacy_service() {
    for (auto& t : threads) t.join();
  }
};

class captured_errors {
 public:
  captured_errors() {
    previous_ = bg::set_unobserved_error_handler([this](std::exception_ptr, std::string_view ctx) {
      std::lock_guard lock(mutex_);
      entries_.emplace_back(ctx);
    });
  }
  captured_errors(const captured_errors&) = delete;
  captured_errors& operator=(const captured_errors&) = delete;
  ~captured_errors() { bg::set_unobserved_error_handler(std::move(previous_)); }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
  bg::unobserved_error_handler previous_;
};

}  // namespace

BRIGADE_TEST(FromCallback, ResolvedFromAnotherThread) {
  legacy_service svc;
  const int v = co_await bg::from_callback<int>(
      [&svc](auto resolve) { svc.async_add(20, 22, [resolve](int sum) { resolve(sum); }); });
  EXPECT_EQ(v, 42);
}

BRIGADE_TEST(FromCallback, ResolvedInline) {
  const int v = co_await bg::from_callback<int>([](auto resolve) { resolve(7); });
  EXPECT_EQ(v, 7);
  co_await bg::from_callback<void>([](auto resolve) { resolve(); });
}

BRIGADE_TEST(FromCallback, ResolvedWithAnException) {
  bool threw = false;
  std::thread resolver_thread;
  // Made (and kept) here, and compared by identity rather than by reading
  // what(): exception reference counts live in an uninstrumented libstdc++,
  // so TSan cannot see their hand-off between threads.
  const std::exception_ptr io_error = std::make_exception_ptr(std::runtime_error("io"));
  // Named before the co_await: GCC 12 destroys a lambda temporary with
  // non-trivial captures twice when it sits in a co_await expression
  // (docs/pitfalls.md, "GCC 12").
  auto op = bg::from_callback<int>([&resolver_thread, io_error](auto resolve) {
    resolver_thread = std::thread([resolve, io_error] { resolve(io_error); });
  });
  try {
    (void)co_await std::move(op);
  } catch (const std::runtime_error&) {
    threw = std::current_exception() == io_error;  // the very object resolve got
  }
  // The resolving thread holds the waker's reference until its wake returns.
  resolver_thread.join();
  EXPECT_TRUE(threw);
}

BRIGADE_TEST(FromCallback, SecondResolveIsReportedAndIgnored) {
  captured_errors errors;
  std::atomic<bool> second_result{true};
  const int v = co_await bg::from_callback<int>([&second_result](auto resolve) {
    EXPECT_TRUE(resolve(1));
    auto copy = resolve;
    second_result.store(copy(2));
  });
  EXPECT_EQ(v, 1);
  EXPECT_FALSE(second_result.load());
  EXPECT_EQ(errors.count(), 1u);
}

BRIGADE_TEST(FromCallback, ConcurrentResolvesHaveOneWinner) {
  captured_errors errors;
  const int v = co_await bg::from_callback<int>([](auto resolve) {
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) ts.emplace_back([resolve, i] { resolve(i); });
    for (auto& t : ts) t.join();
  });
  EXPECT_GE(v, 0);
  EXPECT_LT(v, 4);
  EXPECT_EQ(errors.count(), 3u);
}

BRIGADE_TEST(FromCallback, DroppedResolveIsABrokenPromise) {
  EXPECT_THROW((void)co_await bg::from_callback<int>([](auto resolve) { (void)resolve; }),
               bg::broken_promise);
}

BRIGADE_TEST(FromCallback, AbortedWaitIsCancellable) {
  std::shared_ptr<bg::resolver<int>> keep;
  std::atomic<bool> kept{false};  // publishes `keep` to this task (another worker)
  auto h = bg::spawn(
      [](std::shared_ptr<bg::resolver<int>>& k, std::atomic<bool>& flag) -> bg::task<int> {
        co_return co_await bg::from_callback<int>([&k, &flag](bg::resolver<int> resolve) {
          k = std::make_shared<bg::resolver<int>>(resolve);
          flag.store(true, std::memory_order_release);
        });
      }(keep, kept));
  while (!kept.load(std::memory_order_acquire)) co_await bg::yield_now();
  for (int i = 0; i < 3; ++i) co_await bg::yield_now();
  h.abort();
  EXPECT_THROW((void)co_await h, bg::cancelled);
  EXPECT_TRUE((*keep)(5)) << "a late resolve is harmless";
}

BRIGADE_TEST(FromCallback, FnExceptionPropagates) {
  EXPECT_THROW(
      (void)co_await bg::from_callback<int>([](auto) { throw std::invalid_argument("x"); }),
      std::invalid_argument);
}

// ---- on_complete ----

namespace {

bg::task<int> fails_after(manual_event& ev) {
  co_await ev.wait();
  throw std::runtime_error("task failed");
}

}  // namespace

BRIGADE_TEST(OnComplete, DeliversTheValue) {
  manual_event ev;
  bg::promise<int> got;
  bg::future<int> f = got.get_future();
  bg::on_complete(bg::spawn(bg::testing::parked_value(ev, 9)),
                  bg::overloaded{[&got](int v) { got.set_value(v); },
                                 [&got](std::exception_ptr e) { got.set_exception(e); }});
  co_await bg::testing::until_waiters(ev, 1);
  ev.set();
  EXPECT_EQ(co_await f, 9);
}

BRIGADE_TEST(OnComplete, DeliversTheException) {
  manual_event ev;
  bg::promise<int> got;
  bg::future<int> f = got.get_future();
  bg::on_complete(bg::spawn(fails_after(ev)),
                  bg::overloaded{[&got](int v) { got.set_value(v); },
                                 [&got](std::exception_ptr e) { got.set_exception(e); }});
  ev.set();
  EXPECT_THROW((void)co_await f, std::runtime_error);
}

BRIGADE_TEST(OnComplete, AlreadyFinishedRunsInline) {
  auto h = bg::spawn([]() -> bg::task<> { co_return; }());
  co_await bg::testing::until_finished(h);
  bool called = false;
  bg::on_complete(std::move(h), bg::overloaded{[&called] { called = true; },
                                               [](std::exception_ptr) { ADD_FAILURE(); }});
  EXPECT_TRUE(called);
}

BRIGADE_TEST(OnComplete, AbortedTaskDeliversCancelled) {
  manual_event never;
  std::atomic<int> outcome{0};
  auto h = bg::spawn(bg::testing::parked_value(never, 1));
  auto* raw = h.header();
  bg::promise<void> done;
  bg::future<void> fdone = done.get_future();
  bg::on_complete(std::move(h), bg::overloaded{[&](int) {
                                                 outcome.store(1);
                                                 done.set_value();
                                               },
                                               [&](std::exception_ptr e) {
                                                 try {
                                                   std::rethrow_exception(e);
                                                 } catch (const bg::cancelled&) {
                                                   outcome.store(2);
                                                 } catch (...) {
                                                   outcome.store(3);
                                                 }
                                                 done.set_value();
                                               }});
  co_await bg::testing::until_waiters(never, 1);
  raw->abort();  // the handle was consumed; abort through its header
  co_await fdone;
  EXPECT_EQ(outcome.load(), 2);
}

BRIGADE_TEST(OnComplete, ThrowingCallbackIsReported) {
  captured_errors errors;
  bg::promise<void> done;
  bg::future<void> fdone = done.get_future();
  auto h = bg::spawn([]() -> bg::task<int> { co_return 1; }());
  bg::on_complete(std::move(h), [&done](auto&&...) {
    done.set_value();
    throw std::runtime_error("callback bug");
  });
  co_await fdone;
  while (errors.count() == 0) co_await bg::yield_now();
  EXPECT_EQ(errors.count(), 1u);
}

TEST(OnComplete, ShutdownDeliversCancelled) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    manual_event never;
    std::atomic<int> cancelled{0};
    bg::testing::frame_accounting accounting;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      bg::on_complete(rt.spawn(bg::testing::parked_value(never, 1)),
                      bg::overloaded{[](int) { ADD_FAILURE(); },
                                     [&cancelled](std::exception_ptr) { cancelled.fetch_add(1); }});
      rt.block_on(
          [](manual_event& e) -> bg::task<> { co_await bg::testing::until_waiters(e, 1); }(never));
    }
    EXPECT_EQ(cancelled.load(), 1);
  });
}

TEST(OnComplete, EmptyHandleThrows) {
  EXPECT_THROW(bg::on_complete(bg::join_handle<int>{}, [](auto&&...) {}), std::logic_error);
}
