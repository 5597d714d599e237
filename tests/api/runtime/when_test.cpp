#include <brigade/when.hpp>

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
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::failure_log;
using bg::testing::manual_event;

namespace {

class when_failure : public std::runtime_error {
 public:
  explicit when_failure(const std::string& what, int id) : std::runtime_error(what), id_(id) {}
  int id() const noexcept { return id_; }

 private:
  int id_;
};

bg::task<int> value(int v) { co_return v; }
bg::task<int> value_after_yield(int v) {
  co_await bg::yield_now();
  co_return v;
}
bg::task<std::string> text(std::string s) {
  co_await bg::yield_now();
  co_return s;
}
bg::task<> touch(std::atomic<int>& n) {
  n.fetch_add(1);
  co_return;
}
bg::task<std::unique_ptr<int>> box(int v) { co_return std::make_unique<int>(v); }
bg::task<> fail_void(std::string what) {
  co_await bg::yield_now();
  throw when_failure(what, 0);
}

/// Parks on `ev` with a counted local; marks `woke` if it ever resumes.
bg::task<int> parked_counted(manual_event& ev, std::atomic<int>& woke, int v) {
  counted local{v};
  co_await ev.wait();
  woke.fetch_add(1);
  co_return v;
}

/// Waits until `ev` has `n` waiters, then fails.
bg::task<int> fail_when_parked(manual_event& ev, std::size_t n, std::string what) {
  co_await bg::testing::until_waiters(ev, n);
  throw when_failure(what, 7);
}

/// Waits until `ev` has `n` waiters, then returns v.
bg::task<int> value_when_parked(manual_event& ev, std::size_t n, int v) {
  co_await bg::testing::until_waiters(ev, n);
  co_return v;
}

}  // namespace

// ---- when_all ---------------------------------------------------------------

BRIGADE_TEST(WhenAll, TupleOfValues) {
  auto [a, b, c] = co_await bg::when_all(value(1), value_after_yield(2), value(3));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(c, 3);
}

BRIGADE_TEST(WhenAll, HeterogeneousTypesAndVoid) {
  std::atomic<int> touched{0};
  auto r = co_await bg::when_all(value(1), touch(touched), text("two"), box(3));
  static_assert(std::is_same_v<decltype(r),
                               std::tuple<int, std::monostate, std::string, std::unique_ptr<int>>>);
  EXPECT_EQ(std::get<0>(r), 1);
  EXPECT_EQ(touched.load(), 1);
  EXPECT_EQ(std::get<2>(r), "two");
  BRIGADE_CO_ASSERT(std::get<3>(r) != nullptr);
  EXPECT_EQ(*std::get<3>(r), 3);
}

BRIGADE_TEST(WhenAll, SingleTask) {
  auto [only] = co_await bg::when_all(value(9));
  EXPECT_EQ(only, 9);
}

BRIGADE_TEST(WhenAll, LvalueTasksAreConsumed) {
  bg::task<int> t1 = value(1);
  bg::task<std::string> t2 = text("x");
  auto [a, b] = co_await bg::when_all(t1, t2);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, "x");
  EXPECT_FALSE(t1.valid()) << "when_all takes ownership of lvalue tasks";
  EXPECT_FALSE(t2.valid());
}

BRIGADE_TEST(WhenAll, AwaitableStoredAndAwaitedLater) {
  std::atomic<int> touched{0};
  auto all = bg::when_all(touch(touched), touch(touched));
  EXPECT_EQ(touched.load(), 0) << "when_all is lazy like any task";
  co_await bg::yield_now();
  EXPECT_EQ(touched.load(), 0);
  (void)co_await std::move(all);
  EXPECT_EQ(touched.load(), 2);
}

BRIGADE_TEST(WhenAll, VectorOfValuesInInputOrder) {
  std::vector<bg::task<int>> ts;
  for (int i = 0; i < 50; ++i) ts.push_back(i % 2 == 0 ? value(i) : value_after_yield(i));
  std::vector<int> out = co_await bg::when_all(std::move(ts));
  BRIGADE_CO_ASSERT(out.size() == 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i);
}

BRIGADE_TEST(WhenAll, EmptyVector) {
  std::vector<int> out = co_await bg::when_all(std::vector<bg::task<int>>{});
  EXPECT_TRUE(out.empty());
  co_await bg::when_all(std::vector<bg::task<>>{});
}

BRIGADE_TEST(WhenAll, VectorOfVoid) {
  std::atomic<int> touched{0};
  std::vector<bg::task<>> ts;
  for (int i = 0; i < 10; ++i) ts.push_back(touch(touched));
  static_assert(std::is_void_v<decltype(bg::when_all(std::move(ts)))::value_type>);
  co_await bg::when_all(std::move(ts));
  EXPECT_EQ(touched.load(), 10);
}

BRIGADE_TEST(WhenAll, VectorOfMoveOnly) {
  std::vector<bg::task<std::unique_ptr<int>>> ts;
  for (int i = 0; i < 5; ++i) ts.push_back(box(i));
  auto out = co_await bg::when_all(std::move(ts));
  BRIGADE_CO_ASSERT(out.size() == 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*out[static_cast<std::size_t>(i)], i);
}

namespace {
bg::task<int> wait_for(manual_event& ev) {
  co_await ev.wait();
  co_return 1;
}
bg::task<int> set_it(manual_event& ev) {
  co_await bg::yield_now();
  ev.set();
  co_return 2;
}
}  // namespace

// If when_all ran its children one after the other, child 1 would wait for
// an event only child 2 sets: a deadlock (caught by the ctest timeout).
BRIGADE_TEST(WhenAll, ChildrenRunConcurrently) {
  manual_event ev;
  auto [a, b] = co_await bg::when_all(wait_for(ev), set_it(ev));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);

  manual_event ev2;
  std::vector<bg::task<int>> ts;
  ts.push_back(wait_for(ev2));
  ts.push_back(wait_for(ev2));
  ts.push_back(set_it(ev2));
  std::vector<int> out = co_await bg::when_all(std::move(ts));
  EXPECT_EQ(out, (std::vector<int>{1, 1, 2}));
}

BRIGADE_TEST(WhenAll, FirstFailureIsRethrownAndTheParkedSiblingCancelled) {
  counted::reset();
  manual_event never;
  std::atomic<int> woke{0};
  try {
    (void)co_await bg::when_all(parked_counted(never, woke, 1), fail_when_parked(never, 2, "boom"),
                                parked_counted(never, woke, 2));
    ADD_FAILURE() << "expected when_failure";
  } catch (const when_failure& e) {
    EXPECT_STREQ(e.what(), "boom");
    EXPECT_EQ(e.id(), 7);
    // Structured: the siblings were cancelled and awaited before the throw.
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(never.waiters(), 0u);
  }
  EXPECT_EQ(woke.load(), 0);
  EXPECT_EQ(counted::destroyed(), counted::constructed());
  EXPECT_EQ(counted::constructed(), 2) << "both siblings had parked before the failure";
}

BRIGADE_TEST(WhenAll, VectorFailureCancelsTheRest) {
  counted::reset();
  manual_event never;
  std::atomic<int> woke{0};
  std::vector<bg::task<int>> ts;
  for (int i = 0; i < 5; ++i) ts.push_back(parked_counted(never, woke, i));
  ts.push_back(fail_when_parked(never, 5, "vector boom"));
  try {
    (void)co_await bg::when_all(std::move(ts));
    ADD_FAILURE() << "expected when_failure";
  } catch (const when_failure& e) {
    EXPECT_STREQ(e.what(), "vector boom");
    EXPECT_EQ(counted::alive(), 0);
  }
  EXPECT_EQ(woke.load(), 0);
  EXPECT_EQ(never.waiters(), 0u);
  EXPECT_EQ(counted::constructed(), 5);
}

BRIGADE_TEST(WhenAll, VoidFailureIsRethrown) {
  std::atomic<int> touched{0};
  EXPECT_THROW(co_await bg::when_all(touch(touched), fail_void("void boom")), when_failure);
}

namespace {
bg::task<int> await_all_parked(manual_event& never, std::atomic<int>& woke) {
  auto [a, b, c] =
      co_await bg::when_all(parked_counted(never, woke, 1), parked_counted(never, woke, 2),
                            parked_counted(never, woke, 3));
  ADD_FAILURE() << "when_all of parked tasks returned";
  co_return a + b + c;
}
}  // namespace

BRIGADE_TEST(WhenAll, AbortingTheParentCancelsAndAwaitsEveryChild) {
  counted::reset();
  manual_event never;
  std::atomic<int> woke{0};
  auto parent = bg::spawn(await_all_parked(never, woke), "when_all parent");
  co_await bg::testing::until_waiters(never, 3);
  EXPECT_EQ(counted::alive(), 3);
  parent.abort();
  EXPECT_THROW(co_await parent, bg::cancelled);
  EXPECT_EQ(counted::alive(), 0) << "every child unwound before the parent finished";
  EXPECT_EQ(never.waiters(), 0u);
  EXPECT_EQ(woke.load(), 0);
}

namespace {
/// A child that, when cancelled, still needs one more turn to clean up:
/// the parent must not finish before it.
bg::task<int> slow_to_unwind(manual_event& never, std::atomic<bool>& cleaned) {
  try {
    co_await never.wait();
  } catch (const bg::cancelled&) {
    // Not a cancellable await: does some work, then rethrows.
    cleaned.store(true);
    throw;
  }
  co_return 0;
}
bg::task<> await_slow(manual_event& never, std::atomic<bool>& cleaned, std::atomic<int>& woke) {
  (void)co_await bg::when_all(slow_to_unwind(never, cleaned), parked_counted(never, woke, 1));
}
}  // namespace

BRIGADE_TEST(WhenAll, ParentFinishesOnlyAfterChildrenCleanedUp) {
  counted::reset();
  manual_event never;
  std::atomic<bool> cleaned{false};
  std::atomic<int> woke{0};
  auto parent = bg::spawn(await_slow(never, cleaned, woke));
  co_await bg::testing::until_waiters(never, 2);
  parent.abort();
  EXPECT_THROW(co_await parent, bg::cancelled);
  EXPECT_TRUE(cleaned.load());
  EXPECT_EQ(counted::alive(), 0);
}

namespace {
/// Parks; when cancelled, fails with a different exception (a failure that
/// happens while unwinding, which nobody will observe).
bg::task<int> fails_when_cancelled(manual_event& never) {
  try {
    co_await never.wait();
  } catch (const bg::cancelled&) {
    throw when_failure("failure while unwinding", 2);
  }
  co_return 0;
}
bg::task<int> first_and_second_failure(manual_event& never) {
  try {
    (void)co_await bg::when_all(fails_when_cancelled(never),
                                fail_when_parked(never, 1, "first failure"));
  } catch (const when_failure& e) {
    co_return e.id();
  }
  co_return 0;
}
}  // namespace

TEST(WhenAll, SecondFailureGoesToTheHook) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    failure_log log;
    manual_event never;
    bg::runtime_options o = bg::testing::options_for(f);
    o.unhandled_exception = log.hook();
    {
      bg::runtime rt{o};
      EXPECT_EQ(rt.block_on(first_and_second_failure(never)), 7) << "the first failure wins";
      EXPECT_EQ(log.count(), 1u) << "reported before when_all returned";
    }
    const auto entries = log.entries();
    ASSERT_EQ(entries.size(), 1u) << "the second failure is reported exactly once";
    EXPECT_EQ(entries[0].what, "failure while unwinding");
  });
}

BRIGADE_TEST(WhenAll, ManyChildren) {
  std::vector<bg::task<int>> ts;
  for (int i = 0; i < 2000; ++i) ts.push_back(value_after_yield(i));
  std::vector<int> out = co_await bg::when_all(std::move(ts));
  long sum = 0;
  for (int v : out) sum += v;
  EXPECT_EQ(sum, 1999L * 2000 / 2);
}

BRIGADE_TEST(WhenAll, NestedWhenAll) {
  auto [ab, c] = co_await bg::when_all(bg::when_all(value(1), value_after_yield(2)), value(3));
  EXPECT_EQ(std::get<0>(ab), 1);
  EXPECT_EQ(std::get<1>(ab), 2);
  EXPECT_EQ(c, 3);
}

TEST(WhenAll, OutsideARuntimeThrowsLogicError) {
  bg::testing::frame_accounting accounting;
  std::exception_ptr error;
  auto outside = [](std::exception_ptr&) -> bg::testing::eager {
    (void)co_await bg::when_all(value(1), value(2));
  };
  outside(error);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
}

// ---- when_any ---------------------------------------------------------------

BRIGADE_TEST(WhenAny, IndexAndValueOfTheWinner) {
  counted::reset();
  manual_event never;
  std::atomic<int> woke{0};
  auto r = co_await bg::when_any(parked_counted(never, woke, 1), value_when_parked(never, 2, 42),
                                 parked_counted(never, woke, 3));
  static_assert(std::is_same_v<decltype(r), bg::when_any_result<int>>);
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(r.value, 42);
  EXPECT_EQ(counted::alive(), 0) << "losers are cancelled and destroyed before when_any returns";
  EXPECT_EQ(counted::constructed(), 2);
  EXPECT_EQ(never.waiters(), 0u);
  EXPECT_EQ(woke.load(), 0);
}

BRIGADE_TEST(WhenAny, ImmediateWinner) {
  auto r = co_await bg::when_any(value(5));
  EXPECT_EQ(r.index, 0u);
  EXPECT_EQ(r.value, 5);
}

BRIGADE_TEST(WhenAny, HeterogeneousGivesAVariant) {
  manual_event never;
  std::atomic<int> woke{0};
  auto r = co_await bg::when_any(parked_counted(never, woke, 1), text("winner"));
  static_assert(std::is_same_v<decltype(r), bg::when_any_result<std::variant<int, std::string>>>);
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(r.value.index(), 1u);
  BRIGADE_CO_ASSERT(std::holds_alternative<std::string>(r.value));
  EXPECT_EQ(std::get<std::string>(r.value), "winner");
}

BRIGADE_TEST(WhenAny, VariantIndexFollowsArgumentPositionWithRepeatedTypes) {
  manual_event never;
  std::atomic<int> woke{0};
  std::atomic<int> touched{0};
  // int, void, int: the variant is <int, monostate, int>; the winner is the
  // second int, so the variant must hold alternative 2, not 0.
  auto r = co_await bg::when_any(
      parked_counted(never, woke, 1),
      [](manual_event& e, std::atomic<int>& t) -> bg::task<> {
        co_await e.wait();
        t.fetch_add(1);
      }(never, touched),
      value_when_parked(never, 2, 30));
  static_assert(
      std::is_same_v<decltype(r), bg::when_any_result<std::variant<int, std::monostate, int>>>);
  EXPECT_EQ(r.index, 2u);
  EXPECT_EQ(r.value.index(), 2u);
  EXPECT_EQ(std::get<2>(r.value), 30);
  EXPECT_EQ(touched.load(), 0);
}

BRIGADE_TEST(WhenAny, VoidWinnerIsMonostate) {
  manual_event never;
  std::atomic<int> touched{0};
  auto r = co_await bg::when_any(touch(touched),
                                 [](manual_event& e) -> bg::task<> { co_await e.wait(); }(never));
  static_assert(std::is_same_v<decltype(r), bg::when_any_result<std::monostate>>);
  EXPECT_EQ(r.index, 0u);
  EXPECT_EQ(touched.load(), 1);
  EXPECT_EQ(never.waiters(), 0u);
}

BRIGADE_TEST(WhenAny, WinnersExceptionIsRethrown) {
  counted::reset();
  manual_event never;
  std::atomic<int> woke{0};
  try {
    (void)co_await bg::when_any(parked_counted(never, woke, 1),
                                fail_when_parked(never, 1, "first"));
    ADD_FAILURE() << "expected when_failure";
  } catch (const when_failure& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_EQ(counted::alive(), 0);
  EXPECT_EQ(never.waiters(), 0u);
}

BRIGADE_TEST(WhenAny, VectorOverload) {
  counted::reset();
  manual_event never;
  std::atomic<int> woke{0};
  std::vector<bg::task<int>> ts;
  for (int i = 0; i < 6; ++i) {
    ts.push_back(i == 3 ? value_when_parked(never, 5, 300) : parked_counted(never, woke, i));
  }
  bg::when_any_result<int> r = co_await bg::when_any(std::move(ts));
  EXPECT_EQ(r.index, 3u);
  EXPECT_EQ(r.value, 300);
  EXPECT_EQ(counted::alive(), 0);
  EXPECT_EQ(counted::constructed(), 5);
  EXPECT_EQ(woke.load(), 0);
}

BRIGADE_TEST(WhenAny, VectorOfVoid) {
  manual_event never;
  std::atomic<int> touched{0};
  std::vector<bg::task<>> ts;
  ts.push_back([](manual_event& e) -> bg::task<> { co_await e.wait(); }(never));
  ts.push_back(touch(touched));
  auto r = co_await bg::when_any(std::move(ts));
  static_assert(std::is_same_v<decltype(r), bg::when_any_result<std::monostate>>);
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(touched.load(), 1);
}

BRIGADE_TEST(WhenAny, EmptyVectorThrowsInvalidArgument) {
  EXPECT_THROW((void)co_await bg::when_any(std::vector<bg::task<int>>{}), std::invalid_argument);
}

BRIGADE_TEST(WhenAny, LvalueTasksAreConsumed) {
  bg::task<int> a = value(1);
  bg::task<int> b = value_after_yield(2);
  auto r = co_await bg::when_any(a, b);
  EXPECT_FALSE(a.valid());
  EXPECT_FALSE(b.valid());
  EXPECT_TRUE(r.index == 0 || r.index == 1);
  EXPECT_EQ(r.value, static_cast<int>(r.index) + 1);
}

namespace {
bg::task<int> await_any_parked(manual_event& never, std::atomic<int>& woke) {
  auto r = co_await bg::when_any(parked_counted(never, woke, 1), parked_counted(never, woke, 2));
  ADD_FAILURE() << "when_any of parked tasks returned";
  co_return r.value;
}
}  // namespace

BRIGADE_TEST(WhenAny, AbortingTheParentCancelsAndAwaitsEveryChild) {
  counted::reset();
  manual_event never;
  std::atomic<int> woke{0};
  auto parent = bg::spawn(await_any_parked(never, woke));
  co_await bg::testing::until_waiters(never, 2);
  parent.abort();
  EXPECT_THROW(co_await parent, bg::cancelled);
  EXPECT_EQ(counted::alive(), 0);
  EXPECT_EQ(never.waiters(), 0u);
}

BRIGADE_TEST(WhenAny, BothReadyTheFirstWins) {
  // Two tasks that both finish: one wins, the other's value is dropped.
  auto r = co_await bg::when_any(value(1), value(2));
  EXPECT_TRUE(r.index == 0 || r.index == 1);
  EXPECT_EQ(r.value, static_cast<int>(r.index) + 1);
}

BRIGADE_TEST(WhenAny, EventSetFromAPlainThreadPicksTheWinner) {
  manual_event a;
  manual_event b;
  std::atomic<int> woke{0};
  auto race = bg::when_any(parked_counted(a, woke, 10), parked_counted(b, woke, 20));
  auto h = bg::spawn(std::move(race));
  co_await bg::testing::until_waiters(b, 1);
  co_await bg::testing::until_waiters(a, 1);
  std::thread([&b] { b.set(); }).join();
  auto r = co_await h;
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(r.value, 20);
  EXPECT_EQ(woke.load(), 1);
  EXPECT_EQ(a.waiters(), 0u);
}
