#include <brigade/task.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::manual_event;

namespace {

bg::task<int> forty_two() { co_return 42; }

bg::task<int> add_one(int x) { co_return x + 1; }

bg::task<int> chain() {
  int v = co_await forty_two();
  v = co_await add_one(v);
  co_return v;
}

/// A failure type of our own, so tests tell it apart from library errors.
class kitchen_fire : public std::runtime_error {
 public:
  explicit kitchen_fire(const std::string& what, int code)
      : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace

// ---- laziness -------------------------------------------------------------

namespace {
bg::task<int> note_start(int& started) {
  ++started;
  co_return 7;
}
}  // namespace

BRIGADE_TEST(Task, IsLazyUntilAwaited) {
  int started = 0;
  bg::task<int> t = note_start(started);
  EXPECT_TRUE(t.valid());
  EXPECT_EQ(started, 0) << "creating a task must not run its body";
  co_await bg::yield_now();
  EXPECT_EQ(started, 0) << "a task that is neither awaited nor spawned must not run";
  EXPECT_EQ(co_await t, 7);
  EXPECT_EQ(started, 1);
}

TEST(Task, CreatedOutsideARuntimeDoesNotRun) {
  bg::testing::frame_accounting accounting;
  int started = 0;
  {
    bg::task<int> t = note_start(started);
    EXPECT_TRUE(t.valid());
  }
  EXPECT_EQ(started, 0);
}

// ---- values ---------------------------------------------------------------

BRIGADE_TEST(Task, AwaitsValues) { EXPECT_EQ(co_await chain(), 43); }

namespace {
bg::task<std::string> greet(std::string who) { co_return "hello " + who; }
}  // namespace

BRIGADE_TEST(Task, ReturnsNonTrivialValues) {
  std::string s = co_await greet("brigade");
  EXPECT_EQ(s, "hello brigade");
}

namespace {
bg::task<int&> ref_to(int& x) { co_return x; }
bg::task<const std::string&> cref_to(const std::string& s) { co_return s; }
}  // namespace

BRIGADE_TEST(Task, ReturnsReferences) {
  static_assert(std::is_same_v<bg::task<int&>::value_type, int&>);
  int x = 5;
  int& r = co_await ref_to(x);
  EXPECT_EQ(&r, &x) << "task<int&> must yield the same object, not a copy";
  r = 9;
  EXPECT_EQ(x, 9);

  const std::string s = "kept";
  const std::string& cr = co_await cref_to(s);
  EXPECT_EQ(&cr, &s);
}

namespace {
bg::task<> set_to(int& x, int v) {
  x = v;
  co_return;
}
bg::task<> twice(int& x) {
  co_await set_to(x, 1);
  co_await set_to(x, x + 1);
}
}  // namespace

BRIGADE_TEST(Task, VoidTasks) {
  static_assert(std::is_same_v<bg::task<>, bg::task<void>>);
  int x = 0;
  co_await set_to(x, 3);
  EXPECT_EQ(x, 3);
  co_await twice(x);
  EXPECT_EQ(x, 2);
}

namespace {
bg::task<std::unique_ptr<int>> make_box(int v) { co_return std::make_unique<int>(v); }
bg::task<std::unique_ptr<int>> rebox() {
  std::unique_ptr<int> p = co_await make_box(10);
  *p += 1;
  co_return p;  // move-only: returned by move
}
}  // namespace

BRIGADE_TEST(Task, MoveOnlyResults) {
  std::unique_ptr<int> p = co_await rebox();
  BRIGADE_CO_ASSERT(p != nullptr);
  EXPECT_EQ(*p, 11);
}

BRIGADE_TEST(Task, MovedTaskKeepsItsFrame) {
  bg::task<int> a = add_one(1);
  bg::task<int> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(b.valid());
  bg::task<int> c;
  EXPECT_FALSE(c.valid());
  c = std::move(b);
  EXPECT_EQ(co_await c, 2);
}

// ---- exceptions -----------------------------------------------------------

namespace {
bg::task<int> burn(int code) {
  co_await bg::yield_now();  // fail after a real suspension, not synchronously
  throw kitchen_fire("toaster on fire", code);
}
bg::task<> burn_void() { throw kitchen_fire("void fire", 2); }
bg::task<int> relay(int code) {
  int v = co_await burn(code);
  ADD_FAILURE() << "burn() returned instead of throwing";
  co_return v;
}
}  // namespace

BRIGADE_TEST(Task, ExceptionRethrownAtAwait) {
  bool caught = false;
  try {
    (void)co_await burn(41);
  } catch (const kitchen_fire& e) {
    caught = true;
    EXPECT_STREQ(e.what(), "toaster on fire");
    EXPECT_EQ(e.code(), 41);
  }
  EXPECT_TRUE(caught);

  EXPECT_THROW(co_await burn_void(), kitchen_fire);
}

BRIGADE_TEST(Task, ExceptionPropagatesThroughAChain) {
  try {
    (void)co_await relay(3);
    ADD_FAILURE() << "expected kitchen_fire";
  } catch (const kitchen_fire& e) {
    EXPECT_EQ(e.code(), 3);
    EXPECT_STREQ(e.what(), "toaster on fire");
  }
  // The awaiting task carries on normally after catching.
  EXPECT_EQ(co_await forty_two(), 42);
}

// ---- frame lifetime -------------------------------------------------------

namespace {
bg::task<int> holds_param(counted c) { co_return c.value(); }
bg::task<int> holds_local(int& started) {
  ++started;
  counted local{1};
  co_return local.value();
}
}  // namespace

TEST(Task, DestroyingANeverAwaitedTaskDestroysItsFrame) {
  bg::testing::frame_accounting accounting;
  counted::reset();
  const std::int64_t frames_before = bg::detail::live_frames();
  int started = 0;
  {
    // Kept in a vector (the handles escape to the heap) so that clang cannot
    // elide the frames into this function's (HALO): they are really allocated.
    std::vector<bg::task<int>> tasks;
    tasks.push_back(holds_param(counted{5}));
    tasks.push_back(holds_local(started));
    EXPECT_EQ(bg::detail::live_frames(), frames_before + 2);
    EXPECT_EQ(counted::alive(), 1) << "the parameter lives in the frame";
  }
  EXPECT_EQ(bg::detail::live_frames(), frames_before);
  EXPECT_EQ(counted::alive(), 0);
  EXPECT_EQ(counted::destroyed(), counted::constructed());
  EXPECT_EQ(started, 0) << "a destroyed lazy task never ran";
}

BRIGADE_TEST(Task, MoveAssignmentDestroysTheOldFrame) {
  counted::reset();
  bg::task<int> t = holds_param(counted{1});
  EXPECT_EQ(counted::alive(), 1);
  t = holds_param(counted{2});
  EXPECT_EQ(counted::alive(), 1) << "the replaced task's frame must be destroyed";
  EXPECT_EQ(co_await t, 2);
  t = {};
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST(Task, AwaitedFrameIsFreedOnce) {
  counted::reset();
  int started = 0;
  EXPECT_EQ(co_await holds_local(started), 1);
  EXPECT_EQ(co_await holds_param(counted{4}), 4);
  EXPECT_EQ(started, 1);
  EXPECT_EQ(counted::alive(), 0);
  EXPECT_EQ(counted::destroyed(), counted::constructed());
}

TEST(Task, AwaitedFramesAreFreedOnCurrentThread) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  bg::runtime rt{bg::testing::test_options(bg::flavor::current_thread)};
  const std::int64_t before = bg::detail::live_frames();
  EXPECT_EQ(rt.block_on(chain()), 43);
  EXPECT_EQ(bg::detail::live_frames(), before) << "block_on's frames and the chain's are freed";
}

namespace {
bg::task<int> nested_leaf(manual_event& ev, int& reached) {
  counted leaf_local{3};
  ++reached;
  co_await ev.wait();
  ADD_FAILURE() << "the leaf resumed after its task was aborted";
  co_return 1;
}
bg::task<int> nested_mid(manual_event& ev, int& reached, counted param) {
  counted mid_local{2};
  ++reached;
  int v = co_await nested_leaf(ev, reached);
  co_return v + param.value();
}
bg::task<int> nested_root(manual_event& ev, int& reached) {
  counted root_local{1};
  ++reached;
  co_return co_await nested_mid(ev, reached, counted{7});
}
}  // namespace

BRIGADE_TEST(Task, AbortUnwindsEveryNestedFrame) {
  counted::reset();
  manual_event ev;
  int reached = 0;
  auto h = bg::spawn(nested_root(ev, reached));
  co_await bg::testing::until_waiters(ev, 1);
  EXPECT_EQ(reached, 3);
  // Three locals, mid's parameter, and the temporary argument it was copied
  // from (it lives until the end of root's full-expression, across the await).
  EXPECT_EQ(counted::alive(), 5);
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(counted::alive(), 0) << "every level's locals and params must be destroyed";
  EXPECT_EQ(counted::destroyed(), counted::constructed());
  EXPECT_EQ(ev.waiters(), 0u);
}

// ---- deep chains (symmetric transfer) -------------------------------------

namespace {
bg::task<int> depth(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await depth(n - 1);
}
bg::task<> depth_void(int n, int& leaves) {
  if (n == 0) {
    ++leaves;
    co_return;
  }
  co_await depth_void(n - 1, leaves);
}
bg::task<int> depth_throw(int n) {
  if (n == 0) throw kitchen_fire("bottom", n);
  co_return 1 + co_await depth_throw(n - 1);
}
}  // namespace

// A million nested co_awaits: each await starts the child by symmetric
// transfer and each completion transfers back, so the stack does not grow.
// (A stack overflow here crashes the test: the symmetric transfer is broken.)
BRIGADE_TEST_CURRENT_THREAD(Task, MillionNestedAwaitsDoNotOverflowTheStack) {
  EXPECT_EQ(co_await depth(1'000'000), 1'000'000);
  int leaves = 0;
  co_await depth_void(1'000'000, leaves);
  EXPECT_EQ(leaves, 1);
}

// g++'s AddressSanitizer/ThreadSanitizer instrumentation keeps the unwinder
// from turning the rethrow at each level into a tail call; 2,000
// levels still prove the exception crosses a deep chain intact.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int deep_throw_levels = 2'000;
#else
constexpr int deep_throw_levels = 100'000;
#endif

BRIGADE_TEST_CURRENT_THREAD(Task, ExceptionThroughDeepNestedAwaits) {
  try {
    (void)co_await depth_throw(deep_throw_levels);
    ADD_FAILURE() << "expected kitchen_fire";
  } catch (const kitchen_fire& e) {
    EXPECT_STREQ(e.what(), "bottom");
  }
}

BRIGADE_TEST(Task, DeepChainOnEveryFlavor) { EXPECT_EQ(co_await depth(10'000), 10'000); }
