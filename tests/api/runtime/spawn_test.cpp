#include <brigade/spawn.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::manual_event;

namespace {

class spawn_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bg::task<int> forty_two() { co_return 42; }
bg::task<std::int64_t> echo(std::int64_t v) { co_return v; }
bg::task<std::unique_ptr<std::string>> boxed(std::string s) {
  co_return std::make_unique<std::string>(std::move(s));
}
bg::task<int> fails_after_yield(std::string what) {
  co_await bg::yield_now();
  throw spawn_failure(what);
}
bg::task<> set_flag(std::atomic<bool>& flag) {
  flag.store(true);
  co_return;
}

/// True on a current_thread runtime (one worker): where FIFO order is exact.
bool on_current_thread() { return bg::current_runtime().metrics().workers == 1; }

}  // namespace

// ---- spawn and join -------------------------------------------------------

BRIGADE_TEST(Spawn, ReturnsAJoinHandleWithTheValue) {
  bg::join_handle<int> h = bg::spawn(forty_two());
  EXPECT_TRUE(h.valid());
  EXPECT_EQ(co_await h, 42);
  EXPECT_FALSE(h.valid()) << "joining consumes the handle's result";
}

BRIGADE_TEST(Spawn, VoidAndMoveOnlyResults) {
  std::atomic<bool> flag{false};
  bg::join_handle<void> hv = bg::spawn(set_flag(flag));
  co_await hv;
  EXPECT_TRUE(flag.load());

  auto hb = bg::spawn(boxed("box"));
  std::unique_ptr<std::string> p = co_await hb;
  BRIGADE_CO_ASSERT(p != nullptr);
  EXPECT_EQ(*p, "box");
}

BRIGADE_TEST(Spawn, JoinRethrowsTheTasksException) {
  auto h = bg::spawn(fails_after_yield("spawned and failed"));
  try {
    (void)co_await h;
    ADD_FAILURE() << "expected spawn_failure";
  } catch (const spawn_failure& e) {
    EXPECT_STREQ(e.what(), "spawned and failed");
  }
}

BRIGADE_TEST(Spawn, JoiningAnEmptyHandleThrowsLogicError) {
  auto h = bg::spawn(forty_two());
  EXPECT_EQ(co_await h, 42);
  EXPECT_THROW((void)co_await h, std::logic_error);
  bg::join_handle<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_THROW((void)co_await empty, std::logic_error);
}

BRIGADE_TEST(Spawn, SpawnedTaskRunsWhileTheSpawnerWaits) {
  manual_event ev;
  auto setter = [](manual_event& e) -> bg::task<int> {
    e.set();
    co_return 1;
  };
  auto h = bg::spawn(setter(ev));
  co_await ev.wait();  // only the spawned task can set it
  EXPECT_TRUE(ev.is_set());
  EXPECT_EQ(co_await h, 1);
}

namespace {
bg::task<std::int64_t> fan_out(int depth_left) {
  if (depth_left == 0) co_return 1;
  auto a = bg::spawn(fan_out(depth_left - 1));
  auto b = bg::spawn(fan_out(depth_left - 1));
  const std::int64_t x = co_await a;
  const std::int64_t y = co_await b;
  co_return x + y;
}
}  // namespace

BRIGADE_TEST(Spawn, TasksSpawnTasks) { EXPECT_EQ(co_await fan_out(10), 1024); }

BRIGADE_TEST(Spawn, EmptyTaskThrowsInvalidArgument) {
  EXPECT_THROW((void)bg::spawn(bg::task<int>{}), std::invalid_argument);
  co_return;
}

TEST(Spawn, OutsideARuntimeThrowsLogicError) {
  bg::testing::frame_accounting accounting;
  counted::reset();
  auto param_task = [](counted c) -> bg::task<int> { co_return c.value(); };
  EXPECT_THROW((void)bg::spawn(param_task(counted{1})), std::logic_error);
  EXPECT_EQ(counted::alive(), 0) << "the refused task's frame must be destroyed";
  EXPECT_THROW((void)bg::spawn(forty_two(), "named"), std::logic_error);
}

BRIGADE_TEST(Spawn, ThroughCurrentRuntimeHandle) {
  bg::runtime_handle rt = bg::current_runtime();
  auto h = rt.spawn(forty_two(), "via-handle");
  EXPECT_EQ(co_await h, 42);
}

// ---- spawning from plain threads -------------------------------------------

namespace {
bg::task<std::int64_t> join_all(std::vector<bg::join_handle<std::int64_t>> handles) {
  std::int64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}
}  // namespace

TEST(Spawn, FromPlainThreadsThenJoinedByBlockOn) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    constexpr int threads = 4;
    constexpr int per_thread = 250;
    std::vector<std::vector<bg::join_handle<std::int64_t>>> per(threads);
    {
      std::vector<std::thread> ts;
      for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&rt, &per, t] {
          bg::runtime_handle handle = rt.handle();
          for (int i = 0; i < per_thread; ++i) {
            const std::int64_t v = t * per_thread + i;
            // Half through runtime::spawn, half through runtime_handle::spawn.
            per[t].push_back(i % 2 == 0 ? rt.spawn(echo(v), "remote")
                                        : handle.spawn(echo(v), "remote"));
          }
        });
      }
      for (auto& t : ts) t.join();
    }
    std::vector<bg::join_handle<std::int64_t>> all;
    for (auto& v : per) {
      for (auto& h : v) all.push_back(std::move(h));
    }
    const std::int64_t n = threads * per_thread;
    EXPECT_EQ(rt.block_on(join_all(std::move(all))), n * (n - 1) / 2);
    EXPECT_GE(rt.metrics().spawned, static_cast<std::uint64_t>(n + 1));
  });
}

namespace {
struct remote_batch {
  std::mutex mutex;
  std::vector<bg::join_handle<std::int64_t>> handles;
  manual_event all_spawned;
};

bg::task<std::int64_t> collect(remote_batch& batch) {
  co_await batch.all_spawned.wait();
  std::vector<bg::join_handle<std::int64_t>> hs;
  {
    std::lock_guard lock(batch.mutex);
    hs = std::move(batch.handles);
  }
  co_return co_await join_all(std::move(hs));
}
}  // namespace

TEST(Spawn, FromPlainThreadsWhileBlockOnRuns) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    remote_batch batch;
    bg::runtime rt{bg::testing::options_for(f)};
    constexpr int n = 500;
    std::thread producer([&] {
      for (int i = 0; i < n; ++i) {
        auto h = rt.handle().spawn(echo(i));
        std::lock_guard lock(batch.mutex);
        batch.handles.push_back(std::move(h));
      }
      batch.all_spawned.set();  // from a plain thread
    });
    EXPECT_EQ(rt.block_on(collect(batch)), std::int64_t{n} * (n - 1) / 2);
    producer.join();
  });
}

// ---- many tasks -----------------------------------------------------------

BRIGADE_TEST(Spawn, HundredThousandTasksAllJoined) {
  constexpr std::int64_t n = 100'000;
  const auto before = bg::current_runtime().metrics();
  std::vector<bg::join_handle<std::int64_t>> handles;
  handles.reserve(n);
  for (std::int64_t i = 0; i < n; ++i) handles.push_back(bg::spawn(echo(i)));
  std::int64_t sum = 0;
  std::int64_t joined = 0;
  for (auto& h : handles) {
    sum += co_await h;
    ++joined;
  }
  EXPECT_EQ(joined, n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
  const auto after = bg::current_runtime().metrics();
  EXPECT_EQ(after.spawned - before.spawned, static_cast<std::uint64_t>(n));
  EXPECT_GE(after.polls - before.polls, static_cast<std::uint64_t>(n));
}

// ---- names and locations ----------------------------------------------------

BRIGADE_TEST(Spawn, NameAndLocationAppearInDumpTasks) {
  manual_event ev;
  const unsigned line = __LINE__ + 1;
  auto h = bg::spawn(bg::testing::parked_value(ev, 5), "parked-task");
  co_await bg::testing::until_waiters(ev, 1);
  const std::string dump = bg::current_runtime().dump_tasks();
  EXPECT_NE(dump.find("'parked-task'"), std::string::npos) << dump;
  EXPECT_NE(dump.find("spawn_test.cpp:" + std::to_string(line)), std::string::npos) << dump;
  EXPECT_NE(dump.find("'block_on'"), std::string::npos) << "the test body itself: " << dump;
  ev.set();
  EXPECT_EQ(co_await h, 5);
  const std::string after = bg::current_runtime().dump_tasks();
  EXPECT_EQ(after.find("'parked-task'"), std::string::npos) << "finished tasks leave the dump";
}

BRIGADE_TEST_CURRENT_THREAD(Spawn, DumpTasksShowsWhereTasksWait) {
  manual_event ev;
  auto h = bg::spawn(bg::testing::parked_value(ev, 1), "sleeper");
  auto q = bg::spawn(forty_two(), "queued");
  co_await bg::testing::until_waiters(ev, 1);
  // The sleeper is parked on the event; "queued" ran already (FIFO) so spawn
  // one more that is still in the run queue.
  auto r = bg::spawn(forty_two(), "not-yet");
  const std::string dump = bg::current_runtime().dump_tasks();
  EXPECT_NE(dump.find("'sleeper'"), std::string::npos) << dump;
  EXPECT_NE(dump.find("): waiting"), std::string::npos) << dump;
  EXPECT_NE(dump.find("'not-yet'"), std::string::npos) << dump;
  EXPECT_NE(dump.find("scheduled"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("'queued'"), std::string::npos) << dump;
  ev.set();
  EXPECT_EQ(co_await h, 1);
  EXPECT_EQ(co_await q, 42);
  EXPECT_EQ(co_await r, 42);
}

TEST(Spawn, DumpTasksFromOutsideShowsRemoteSpawns) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    manual_event ev;
    bg::runtime rt{bg::testing::options_for(f)};
    const unsigned line = __LINE__ + 1;
    auto h = rt.spawn(bg::testing::parked_value(ev, 3), "remote-sleeper");
    auto park = [](manual_event& e) -> bg::task<> { co_await bg::testing::until_waiters(e, 1); };
    rt.block_on(park(ev));
    const std::string dump = rt.dump_tasks();  // from a thread that does not drive it
    EXPECT_NE(dump.find("'remote-sleeper'"), std::string::npos) << dump;
    EXPECT_NE(dump.find("spawn_test.cpp:" + std::to_string(line)), std::string::npos) << dump;
    EXPECT_EQ(rt.handle().dump_tasks(), dump);
    ev.set();
    auto join = [](bg::join_handle<int>& jh) -> bg::task<int> { co_return co_await jh; };
    EXPECT_EQ(rt.block_on(join(h)), 3);
  });
}

// A dump line must keep the whole name, the location and its newline even
// when the name (or the spawning function's signature) is long.
BRIGADE_TEST(Spawn, LongNamesAreNotTruncatedInDumpTasks) {
  manual_event ev;
  const std::string long_name(600, 'n');
  const unsigned line = __LINE__ + 1;
  auto a = bg::spawn(bg::testing::parked_value(ev, 1), long_name);
  auto b = bg::spawn(bg::testing::parked_value(ev, 2), "short-neighbour");
  co_await bg::testing::until_waiters(ev, 2);
  const std::string dump = bg::current_runtime().dump_tasks();
  EXPECT_NE(dump.find("'" + long_name + "'"), std::string::npos) << "the name was cut";
  EXPECT_NE(dump.find("spawn_test.cpp:" + std::to_string(line)), std::string::npos) << dump;
  // Each task on its own line: the neighbour's line starts at a line start.
  const std::size_t at = dump.find("'short-neighbour'");
  BRIGADE_CO_ASSERT(at != std::string::npos);
  const std::size_t line_start = dump.rfind('\n', at);
  BRIGADE_CO_ASSERT(line_start != std::string::npos);
  EXPECT_EQ(dump.compare(line_start + 1, 7, "task 0x"), 0)
      << "a truncated line lost its newline and merged with the next";
  ev.set();
  EXPECT_EQ(co_await a + co_await b, 3);
}

namespace {
bg::task<int&> ref_result(int& x) {
  co_await bg::yield_now();
  co_return x;
}
}  // namespace

BRIGADE_TEST(Spawn, ReferenceResultThroughJoin) {
  int target = 1;
  bg::join_handle<int&> h = bg::spawn(ref_result(target));
  int& r = co_await h;
  EXPECT_EQ(&r, &target);
}

// ---- yield_now ------------------------------------------------------------

namespace {
bg::task<> yielder(char name, int rounds, std::vector<std::string>& log) {
  for (int i = 1; i <= rounds; ++i) {
    log.push_back(std::string(1, name) + std::to_string(i));
    co_await bg::yield_now();
  }
}
}  // namespace

BRIGADE_TEST_CURRENT_THREAD(YieldNow, InterleavesTwoTasksInFifoOrder) {
  std::vector<std::string> log;
  auto a = bg::spawn(yielder('A', 4, log));
  auto b = bg::spawn(yielder('B', 4, log));
  co_await a;
  co_await b;
  const std::vector<std::string> expected{"A1", "B1", "A2", "B2", "A3", "B3", "A4", "B4"};
  EXPECT_EQ(log, expected);
}

BRIGADE_TEST_CURRENT_THREAD(YieldNow, TheYielderGoesToTheBackOfTheQueue) {
  std::vector<std::string> log;
  auto a = bg::spawn(yielder('A', 1, log));
  auto b = bg::spawn(yielder('B', 1, log));
  auto c = bg::spawn(yielder('C', 1, log));
  co_await bg::yield_now();  // the body itself queues behind A, B and C
  log.push_back("body");
  co_await a;
  co_await b;
  co_await c;
  const std::vector<std::string> expected{"A1", "B1", "C1", "body"};
  EXPECT_EQ(log, expected);
}

TEST(YieldNow, OutsideATaskThrowsLogicError) {
  std::exception_ptr error;
  bool after = false;
  auto outside = [](std::exception_ptr&, bool& reached) -> bg::testing::eager {
    co_await bg::yield_now();
    reached = true;
  };
  outside(error, after);
  EXPECT_FALSE(after);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
}

namespace {
bg::task<> yield_forever(std::atomic<int>& turns, std::atomic<int>& cancels_seen) {
  for (;;) {
    turns.fetch_add(1);
    try {
      co_await bg::yield_now();
    } catch (const bg::cancelled&) {
      // Catching is allowed; the task stays cancelled, so the next
      // cancellable await throws again.
      if (cancels_seen.fetch_add(1) == 1) throw;
    }
  }
}
}  // namespace

BRIGADE_TEST(YieldNow, AbortedTaskThrowsCancelledAtYieldEvenAfterCatching) {
  std::atomic<int> turns{0};
  std::atomic<int> cancels{0};
  auto h = bg::spawn(yield_forever(turns, cancels));
  while (turns.load() < 3) co_await bg::yield_now();
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(cancels.load(), 2) << "the second yield after the abort must throw again";
}

// ---- consume_budget ---------------------------------------------------------

namespace {
bg::task<> budget_loop(int calls_total, std::atomic<int>& calls) {
  for (int i = 0; i < calls_total; ++i) {
    calls.fetch_add(1);
    co_await bg::consume_budget();
  }
}
bg::task<int> observe(std::atomic<int>& calls) { co_return calls.load(); }
}  // namespace

// The budget is 128 units per turn: calls 1..128 complete without
// suspending, call 129 is the first that yields (so a task queued behind the
// loop runs exactly then), and with a fresh budget per turn call 258 yields
// next.
BRIGADE_TEST_CURRENT_THREAD(ConsumeBudget, YieldsAfterExactly128Units) {
  static_assert(bg::detail::initial_budget == 128);
  std::atomic<int> calls{0};
  const auto before = bg::current_runtime().metrics();
  auto loop = bg::spawn(budget_loop(300, calls));
  auto observer = bg::spawn(observe(calls));
  co_await loop;
  EXPECT_EQ(co_await observer, 129) << "the observer must run exactly when call 129 yields";
  EXPECT_EQ(calls.load(), 300);
  const auto after = bg::current_runtime().metrics();
  EXPECT_EQ(after.budget_forced_yields - before.budget_forced_yields, 2u)
      << "calls 129 and 258 yield, no other";
}

BRIGADE_TEST_CURRENT_THREAD(ConsumeBudget, WithinBudgetNoOtherTaskRuns) {
  std::atomic<int> calls{0};
  const auto before = bg::current_runtime().metrics();
  auto loop = bg::spawn(budget_loop(128, calls));
  auto observer = bg::spawn(observe(calls));
  co_await loop;
  EXPECT_EQ(co_await observer, 128) << "128 units fit in one turn: the loop never yielded";
  EXPECT_EQ(bg::current_runtime().metrics().budget_forced_yields, before.budget_forced_yields);
}

namespace {
bg::task<std::int64_t> spin_until(std::atomic<bool>& stop, std::atomic<std::int64_t>& spins) {
  std::int64_t iterations = 0;
  while (!stop.load()) {
    ++iterations;
    spins.store(iterations);
    co_await bg::consume_budget();
  }
  co_return iterations;
}
bg::task<> raise(std::atomic<bool>& stop) {
  stop.store(true);
  co_return;
}
}  // namespace

BRIGADE_TEST(ConsumeBudget, TightLoopDoesNotStarveOthers) {
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> spins{0};
  auto spinner = bg::spawn(spin_until(stop, spins));
  if (!on_current_thread()) {
    // The other worker may take the stopper before the spinner's first
    // iteration (seen under TSan): let the spinner start first (bounded).
    for (int i = 0; i < 1'000'000 && spins.load() == 0; ++i) co_await bg::yield_now();
  }
  auto stopper = bg::spawn(raise(stop));
  const std::int64_t iterations = co_await spinner;
  co_await stopper;
  EXPECT_TRUE(stop.load());
  if (on_current_thread()) {
    EXPECT_EQ(iterations, 129) << "the stopper runs at the first forced yield";
  } else {
    EXPECT_GE(iterations, 1);
  }
}

BRIGADE_TEST(ConsumeBudget, AbortedLoopStopsAtTheForcedYield) {
  std::atomic<int> calls{0};
  auto h = bg::spawn(budget_loop(1'000'000'000, calls));
  while (calls.load() == 0) co_await bg::yield_now();
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_LT(calls.load(), 1'000'000'000);
}

TEST(ConsumeBudget, OutsideATaskIsAlwaysReady) {
  std::exception_ptr error;
  int reached = 0;
  auto outside = [](std::exception_ptr&, int& n) -> bg::testing::eager {
    for (int i = 0; i < 1000; ++i) {
      co_await bg::consume_budget();
      ++n;
    }
  };
  outside(error, reached);
  EXPECT_FALSE(error);
  EXPECT_EQ(reached, 1000) << "outside a task the budget never runs out";
}
