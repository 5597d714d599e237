// cancellation_source / cancellation_token / cancellation_callback, the
// token.cancelled() awaitable, bind_cancellation, and uncancellable.
#include <brigade/cancellation.hpp>

#include <brigade/callback.hpp>
#include <brigade/future.hpp>
#include <brigade/scope.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::manual_event;
using shield_counted = bg::testing::basic_counted<struct shield_tag>;

// ---- plain-thread behaviour of sources, tokens and callbacks ----

TEST(Cancellation, RequestIsSeenByEveryToken) {
  bg::cancellation_source src;
  bg::cancellation_token a = src.token();
  bg::cancellation_token b = a;
  EXPECT_TRUE(a.can_be_cancelled());
  EXPECT_FALSE(a.is_cancellation_requested());
  EXPECT_TRUE(src.request_cancellation());
  EXPECT_FALSE(src.request_cancellation()) << "only the first request counts";
  EXPECT_TRUE(a.is_cancellation_requested());
  EXPECT_TRUE(b.is_cancellation_requested());
  EXPECT_TRUE(src.is_cancellation_requested());
}

TEST(Cancellation, DefaultTokenIsNeverCancelled) {
  bg::cancellation_token t;
  EXPECT_FALSE(t.can_be_cancelled());
  EXPECT_FALSE(t.is_cancellation_requested());
  int calls = 0;
  {
    bg::cancellation_callback cb{t, [&] { ++calls; }};
  }
  EXPECT_EQ(calls, 0);
}

TEST(Cancellation, CallbackRunsOnceOnRequest) {
  bg::cancellation_source src;
  int calls = 0;
  bg::cancellation_callback cb{src.token(), [&] { ++calls; }};
  EXPECT_EQ(calls, 0);
  src.request_cancellation();
  EXPECT_EQ(calls, 1);
  src.request_cancellation();
  EXPECT_EQ(calls, 1);
}

TEST(Cancellation, CallbackRunsInlineWhenAlreadyCancelled) {
  bg::cancellation_source src;
  src.request_cancellation();
  const auto me = std::this_thread::get_id();
  std::thread::id ran_on;
  bg::cancellation_callback cb{src.token(), [&] { ran_on = std::this_thread::get_id(); }};
  EXPECT_EQ(ran_on, me);
}

TEST(Cancellation, DestroyedCallbackIsNotCalled) {
  bg::cancellation_source src;
  int calls = 0;
  {
    bg::cancellation_callback cb{src.token(), [&] { ++calls; }};
  }
  src.request_cancellation();
  EXPECT_EQ(calls, 0);
}

TEST(Cancellation, CallbacksRunInRegistrationOrder) {
  bg::cancellation_source src;
  std::vector<int> order;
  bg::cancellation_callback a{src.token(), [&] { order.push_back(1); }};
  bg::cancellation_callback b{src.token(), [&] { order.push_back(2); }};
  bg::cancellation_callback c{src.token(), [&] { order.push_back(3); }};
  src.request_cancellation();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Cancellation, ChildSourceFollowsParentNotTheOtherWay) {
  bg::cancellation_source parent;
  bg::cancellation_source child{parent.token()};
  bg::cancellation_source grandchild{child.token()};
  bg::cancellation_source sibling{parent.token()};
  int child_calls = 0;
  bg::cancellation_callback cb{grandchild.token(), [&] { ++child_calls; }};
  sibling.request_cancellation();
  EXPECT_FALSE(parent.is_cancellation_requested());
  EXPECT_FALSE(child.is_cancellation_requested());
  parent.request_cancellation();
  EXPECT_TRUE(child.is_cancellation_requested());
  EXPECT_TRUE(grandchild.is_cancellation_requested());
  EXPECT_EQ(child_calls, 1);
}

TEST(Cancellation, ChildOfCancelledParentStartsCancelled) {
  bg::cancellation_source parent;
  parent.request_cancellation();
  bg::cancellation_source child{parent.token()};
  EXPECT_TRUE(child.is_cancellation_requested());
}

TEST(Cancellation, ChildOutlivesItsParentSource) {
  auto* parent = new bg::cancellation_source;
  bg::cancellation_source child{parent->token()};
  bg::cancellation_token pt = parent->token();
  delete parent;  // the token keeps the state; the child stays linked
  EXPECT_FALSE(child.is_cancellation_requested());
}

TEST(Cancellation, CallbackMayDeregisterItself) {
  bg::cancellation_source src;
  std::optional<bg::cancellation_callback<std::function<void()>>> cb;
  int calls = 0;
  cb.emplace(src.token(), std::function<void()>([&] {
               ++calls;
               cb.reset();  // destroys its own registration on the running thread
             }));
  src.request_cancellation();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(cb.has_value());
}

TEST(Cancellation, DeregistrationWaitsForARunningCallback) {
  bg::cancellation_source src;
  std::atomic<bool> in_callback{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  auto cb = std::make_unique<bg::cancellation_callback<std::function<void()>>>(
      src.token(), std::function<void()>([&] {
        in_callback.store(true);
        while (!release.load()) std::this_thread::yield();
        finished.store(true);
      }));
  std::thread requester([&] { src.request_cancellation(); });
  while (!in_callback.load()) std::this_thread::yield();
  std::thread releaser([&] {
    std::this_thread::yield();
    release.store(true);
  });
  cb.reset();  // must not return while the callback runs
  EXPECT_TRUE(finished.load());
  requester.join();
  releaser.join();
}

TEST(Cancellation, ConcurrentRequestsRunCallbacksOnce) {
  for (int round = 0; round < 200; ++round) {
    bg::cancellation_source src;
    std::atomic<int> calls{0};
    bg::cancellation_callback cb{src.token(), [&] { calls.fetch_add(1); }};
    std::atomic<int> winners{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) {
      ts.emplace_back([&] {
        if (src.request_cancellation()) winners.fetch_add(1);
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(winners.load(), 1);
  }
}

// ---- tasks ----

namespace {

bg::task<int> wait_for_token(bg::cancellation_token tok, int v) {
  co_await tok.cancelled();
  co_return v;
}

bg::task<int> parked(manual_event& ev, int v) {
  co_await ev.wait();
  co_return v;
}

}  // namespace

BRIGADE_TEST(CancellationTask, CancelledAwaitCompletesOnRequest) {
  bg::cancellation_source src;
  auto h = bg::spawn(wait_for_token(src.token(), 7));
  for (int i = 0; i < 5; ++i) co_await bg::yield_now();
  EXPECT_FALSE(h.is_finished());
  src.request_cancellation();
  EXPECT_EQ(co_await h, 7);
}

BRIGADE_TEST(CancellationTask, CancelledAwaitIsImmediateWhenRequested) {
  bg::cancellation_source src;
  src.request_cancellation();
  co_await src.token().cancelled();
  EXPECT_TRUE(src.token().is_cancellation_requested());
}

BRIGADE_TEST(CancellationTask, CancelledAwaitRequestedFromAPlainThread) {
  bg::cancellation_source src;
  auto h = bg::spawn(wait_for_token(src.token(), 3));
  co_await bg::yield_now();
  std::thread t([src]() mutable { src.request_cancellation(); });
  EXPECT_EQ(co_await h, 3);
  t.join();
}

BRIGADE_TEST(CancellationTask, AbortedWaiterWithdrawsFromToken) {
  bg::cancellation_source src;
  auto h = bg::spawn(wait_for_token(src.token(), 1));
  for (int i = 0; i < 5; ++i) co_await bg::yield_now();
  h.abort();
  EXPECT_THROW((void)co_await h, bg::cancelled);
  // The token still works and nothing fires into the dead waiter.
  int calls = 0;
  bg::cancellation_callback cb{src.token(), [&] { ++calls; }};
  src.request_cancellation();
  EXPECT_EQ(calls, 1);
}

BRIGADE_TEST(CancellationTask, DefaultTokenWaitEndsOnlyByAbort) {
  auto h = bg::spawn(wait_for_token(bg::cancellation_token{}, 1));
  for (int i = 0; i < 5; ++i) co_await bg::yield_now();
  EXPECT_FALSE(h.is_finished());
  h.abort();
  EXPECT_THROW((void)co_await h, bg::cancelled);
}

BRIGADE_TEST(CancellationTask, CallbackAbortsAJoinHandle) {
  // The pattern from the docs: a token aborts a task through a callback.
  manual_event never;
  bg::cancellation_source src;
  auto h = bg::spawn(parked(never, 1));
  bg::cancellation_callback cb{src.token(), [&h] { h.abort(); }};
  co_await bg::testing::until_waiters(never, 1);
  src.request_cancellation();
  EXPECT_THROW((void)co_await h, bg::cancelled);
}

BRIGADE_TEST(CancellationTask, BindCancellationAbortsTheCurrentTask) {
  manual_event never;
  bg::cancellation_source src;
  auto h = bg::spawn([](bg::cancellation_token tok, manual_event& ev) -> bg::task<int> {
    auto reg = bg::bind_cancellation(tok);
    co_await ev.wait();
    co_return 1;
  }(src.token(), never));
  co_await bg::testing::until_waiters(never, 1);
  std::thread t([&src] { src.request_cancellation(); });
  t.join();
  EXPECT_THROW((void)co_await h, bg::cancelled);
  EXPECT_EQ(never.waiters(), 0u);
}

BRIGADE_TEST(CancellationTask, BindCancellationToAHandle) {
  manual_event never;
  bg::cancellation_source src;
  auto h = bg::spawn(parked(never, 1));
  auto reg = bg::bind_cancellation(src.token(), h);
  co_await bg::testing::until_waiters(never, 1);
  src.request_cancellation();
  EXPECT_THROW((void)co_await h, bg::cancelled);
}

BRIGADE_TEST(CancellationTask, BindCancellationAfterRequestAbortsAtOnce) {
  bg::cancellation_source src;
  src.request_cancellation();
  auto h = bg::spawn([](bg::cancellation_token tok) -> bg::task<int> {
    auto reg = bg::bind_cancellation(tok);
    co_await bg::yield_now();  // the next cancellable await throws
    co_return 1;
  }(src.token()));
  EXPECT_THROW((void)co_await h, bg::cancelled);
}

// ---- uncancellable ----

namespace {

bg::task<int> cleanup(manual_event& ev, std::atomic<int>& steps) {
  shield_counted c;
  co_await ev.wait();  // would throw if the shield leaked the abort
  steps.fetch_add(1);
  co_await bg::yield_now();
  steps.fetch_add(1);
  co_return 5;
}

}  // namespace

BRIGADE_TEST(Uncancellable, ShieldedWorkFinishesDespiteAbort) {
  shield_counted::reset();
  manual_event ev;
  std::atomic<int> steps{0};
  std::atomic<int> got{0};
  std::atomic<bool> threw_after{false};
  auto h = bg::spawn([](manual_event& e, std::atomic<int>& st, std::atomic<int>& g,
                        std::atomic<bool>& after) -> bg::task<> {
    g.store(co_await bg::uncancellable(cleanup(e, st)));
    try {
      co_await bg::yield_now();  // the abort takes effect here
    } catch (const bg::cancelled&) {
      after.store(true);
      throw;
    }
  }(ev, steps, got, threw_after));
  co_await bg::testing::until_waiters(ev, 1);
  h.abort();
  for (int i = 0; i < 5; ++i) co_await bg::yield_now();
  EXPECT_FALSE(h.is_finished()) << "the shield holds the parent until cleanup finishes";
  ev.set();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(steps.load(), 2);
  EXPECT_EQ(got.load(), 5);
  EXPECT_TRUE(threw_after.load());
  EXPECT_EQ(shield_counted::alive(), 0);
}

BRIGADE_TEST(Uncancellable, RunsEvenWhenAlreadyAborted) {
  std::atomic<int> steps{0};
  manual_event ev, gate;
  ev.set();
  auto h = bg::spawn([](manual_event& e, manual_event& g, std::atomic<int>& st) -> bg::task<> {
    try {
      co_await g.wait();  // aborted here
    } catch (const bg::cancelled&) {
    }
    // Cleanup after the cancellation was delivered: still runs to its end.
    (void)co_await bg::uncancellable(cleanup(e, st));
  }(ev, gate, steps));
  co_await bg::testing::until_waiters(gate, 1);
  h.abort();
  co_await h;
  EXPECT_EQ(steps.load(), 2);
}

BRIGADE_TEST(Uncancellable, PropagatesValueVoidAndException) {
  const int v = co_await bg::uncancellable([]() -> bg::task<int> { co_return 9; }());
  EXPECT_EQ(v, 9);
  co_await bg::uncancellable([]() -> bg::task<> { co_return; }());
  EXPECT_THROW(co_await bg::uncancellable([]() -> bg::task<> {
                 throw std::runtime_error("x");
                 co_return;
               }()),
               std::runtime_error);
}

TEST(Uncancellable, ShutdownDestroysShieldedWork) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    shield_counted::reset();
    manual_event never;
    std::atomic<int> steps{0};
    bg::testing::frame_accounting accounting;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      auto h = rt.spawn([](manual_event& e, std::atomic<int>& st) -> bg::task<int> {
        co_return co_await bg::uncancellable(cleanup(e, st));
      }(never, steps));
      rt.block_on(
          [](manual_event& e) -> bg::task<> { co_await bg::testing::until_waiters(e, 1); }(never));
      rt.shutdown();
    }
    EXPECT_EQ(shield_counted::alive(), 0);
    EXPECT_EQ(never.waiters(), 0u);
  });
}

// ---- cancel-at-every-await sweep over a task that uses every awaitable ----

namespace {

struct sweep_rig {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  bg::cancellation_source src;
  std::shared_ptr<bg::resolver<int>> resolve;
  std::atomic<bool> resolve_set{false};  // release: publishes `resolve`
  manual_event child_gate;
  manual_event shield_gate;
  std::atomic<int> stage{-1};
  std::atomic<int> shielded_done{0};

  /// Lets the await of stage `i` complete.
  void release(int i) {
    switch (i) {
      case 0:
        p.set_value(10);
        break;
      case 1:
        src.request_cancellation();
        break;
      case 2:
        if (resolve_set.load()) (*resolve)(20);
        break;
      case 3:
        child_gate.set();
        break;
      case 4:
        shield_gate.set();
        break;
      default:
        break;
    }
  }
};

bg::task<int> gated_child(manual_event& ev) {
  shield_counted c{3};
  co_await ev.wait();
  co_return c.value();
}

bg::task<int> every_await(sweep_rig& rig) {
  rig.stage.store(0);
  int sum = co_await rig.f;
  rig.stage.store(1);
  co_await rig.src.token().cancelled();
  rig.stage.store(2);
  sum += co_await bg::from_callback<int>([&rig](bg::resolver<int> r) {
    rig.resolve = std::make_shared<bg::resolver<int>>(std::move(r));
    rig.resolve_set.store(true);
  });
  rig.stage.store(3);
  bg::task_group<int> g;
  g.spawn(gated_child(rig.child_gate));
  sum += (co_await g.join_next()).value_or(0);
  rig.stage.store(4);
  sum += co_await bg::uncancellable([](sweep_rig& r) -> bg::task<int> {
    co_await r.shield_gate.wait();
    r.shielded_done.fetch_add(1);
    co_return 4;
  }(rig));
  rig.stage.store(5);
  co_await bg::yield_now();
  co_return sum;
}

}  // namespace

BRIGADE_TEST(CancellationSweep, AbortAtEveryAwait) {
  for (int k = 0; k <= 6; ++k) {
    shield_counted::reset();
    sweep_rig rig;
    auto h = bg::spawn(every_await(rig));
    for (int i = 0; i < k && i <= 5; ++i) {
      while (rig.stage.load() < i) co_await bg::yield_now();
      if (i == 2) {
        while (!rig.resolve_set.load()) co_await bg::yield_now();
      }
      for (int y = 0; y < 3; ++y) co_await bg::yield_now();  // let it park
      rig.release(i);
    }
    h.abort();
    for (int i = k; i <= 5; ++i) {
      if (i == 2 && rig.stage.load() == 2) {
        while (!rig.resolve_set.load() && !h.is_finished()) co_await bg::yield_now();
      }
      rig.release(i);  // whatever is still parked may finish
    }
    int result = -1;
    bool cancelled = false;
    try {
      result = co_await h;
    } catch (const bg::cancelled&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled || result == 37) << "k=" << k;
    if (rig.stage.load() <= 0) {
      // Cancelled before it got past the future (the set_value may race the
      // abort: then the task took the value and reached stage 1): nothing is
      // lost, the value stayed in the future.
      EXPECT_TRUE(cancelled);
      EXPECT_TRUE(rig.f.valid()) << "k=" << k;
      if (rig.f.valid()) {
        EXPECT_EQ(rig.f.get(), 10);
      }
    }
    if (rig.stage.load() >= 4) {
      EXPECT_EQ(rig.shielded_done.load(), 1) << "k=" << k << ": the shield let the abort in";
    }
    EXPECT_EQ(shield_counted::alive(), 0) << "k=" << k;
    EXPECT_EQ(rig.child_gate.waiters(), 0u);
    EXPECT_EQ(rig.shield_gate.waiters(), 0u);
  }
}
