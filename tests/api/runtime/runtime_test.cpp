#include <brigade/runtime.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/metrics.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::manual_event;

namespace {

class runtime_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bg::task<int> forty_two() { co_return 42; }
bg::task<std::string> text() {
  co_await bg::yield_now();
  co_return "text";
}
bg::task<> nothing(int& x) {
  x = 1;
  co_return;
}
bg::task<std::unique_ptr<int>> box() { co_return std::make_unique<int>(8); }
bg::task<int&> ref(int& x) { co_return x; }
bg::task<int> fails(std::string what) {
  co_await bg::yield_now();
  throw runtime_failure(what);
}

bg::task<int> parked_counted(manual_event& ev) {
  counted local;
  co_await ev.wait();
  co_return local.value() + 1;
}

bg::task<int> counted_param(std::atomic<int>& runs, counted c) {
  runs.fetch_add(1);
  co_return c.value();
}

std::size_t expected_workers(bg::flavor f) { return f == bg::flavor::current_thread ? 1 : 2; }

}  // namespace

// ---- block_on ---------------------------------------------------------------

TEST(Runtime, BlockOnReturnsValues) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    EXPECT_EQ(rt.block_on(forty_two()), 42);
    EXPECT_EQ(rt.block_on(text()), "text");
    int x = 0;
    rt.block_on(nothing(x));
    EXPECT_EQ(x, 1);
    std::unique_ptr<int> p = rt.block_on(box());
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 8);
    int target = 3;
    int& r = rt.block_on(ref(target));
    EXPECT_EQ(&r, &target);
  });
}

TEST(Runtime, BlockOnRethrows) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    try {
      (void)rt.block_on(fails("block_on failure"));
      ADD_FAILURE() << "expected runtime_failure";
    } catch (const runtime_failure& e) {
      EXPECT_STREQ(e.what(), "block_on failure");
    }
    EXPECT_EQ(rt.block_on(forty_two()), 42) << "the runtime stays usable after a failure";
  });
}

TEST(Runtime, BlockOnAgainSeesTasksFromEarlierCalls) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    manual_event ev;
    bg::runtime rt{bg::testing::options_for(f)};
    auto h = rt.spawn(bg::testing::parked_value(ev, 6), "survivor");
    rt.block_on(bg::testing::until_waiters(ev, 1));
    EXPECT_FALSE(h.is_finished()) << "a parked task outlives the block_on that ran it";
    auto release_and_join = [](manual_event& e, bg::join_handle<int>& jh) -> bg::task<int> {
      e.set();
      co_return co_await jh;
    };
    EXPECT_EQ(rt.block_on(release_and_join(ev, h)), 6);
  });
}

TEST(Runtime, CurrentThreadRunsRemoteSpawnsOnlyDuringBlockOn) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  counted::reset();
  std::atomic<int> runs{0};
  bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
  auto h = rt.spawn(counted_param(runs, counted{5}));
  EXPECT_EQ(runs.load(), 0) << "no thread drives the runtime yet";
  EXPECT_FALSE(h.is_finished());
  auto join = [](bg::join_handle<int>& jh) -> bg::task<int> { co_return co_await jh; };
  EXPECT_EQ(rt.block_on(join(h)), 5);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(counted::alive(), 0);
}

namespace {
bg::task<> block_on_inside(bool multi_selected) {
  bg::runtime_options current = bg::testing::options_for(bg::flavor::current_thread);
  {
    bg::runtime other{current};
    EXPECT_THROW((void)other.block_on(forty_two()), std::logic_error);
  }
  if (multi_selected) {
    bg::runtime other{bg::testing::options_for(bg::flavor::multi_thread)};
    EXPECT_THROW((void)other.block_on(forty_two()), std::logic_error);
  }
  co_return;
}
}  // namespace

TEST(Runtime, BlockOnInsideATaskThrowsLogicError) {
  // Run inside each flavor's task, and try block_on of each flavor there.
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    rt.block_on(block_on_inside(bg::testing::flavor_selected(bg::flavor::multi_thread)));
  });
}

namespace {
bg::task<int> block_on_same(bg::runtime& rt) {
  try {
    (void)rt.block_on(forty_two());
    ADD_FAILURE() << "block_on of its own runtime inside a task must throw";
  } catch (const std::logic_error&) {
    co_return 1;
  }
  co_return 0;
}
}  // namespace

TEST(Runtime, BlockOnOfTheSameRuntimeInsideATaskThrowsLogicError) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    EXPECT_EQ(rt.block_on(block_on_same(rt)), 1);
    EXPECT_EQ(rt.block_on(forty_two()), 42);
  });
}

TEST(Runtime, CurrentThreadBlockOnFromASecondThreadThrowsLogicError) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  manual_event release;
  std::atomic<bool> entered{false};
  bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
  auto hold = [](std::atomic<bool>& in, manual_event& ev) -> bg::task<int> {
    in.store(true);
    co_await ev.wait();
    co_return 7;
  };
  int result = 0;
  std::thread driver([&] { result = rt.block_on(hold(entered, release)); });
  while (!entered.load()) std::this_thread::yield();
  EXPECT_THROW((void)rt.block_on(forty_two()), std::logic_error)
      << "a current_thread runtime has one driver at a time";
  release.set();
  driver.join();
  EXPECT_EQ(result, 7);
}

// ---- current_runtime and handles ---------------------------------------------

namespace {
bg::task<bg::runtime_handle> which_runtime() {
  co_await bg::yield_now();
  co_return bg::current_runtime();
}
}  // namespace

TEST(Runtime, CurrentRuntimeInsideATask) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    bg::runtime_handle seen = rt.block_on(which_runtime());
    EXPECT_TRUE(seen);
    EXPECT_TRUE(seen == rt.handle());
    EXPECT_EQ(seen.metrics().workers, expected_workers(f));
    bg::runtime other{bg::testing::options_for(f)};
    EXPECT_FALSE(other.block_on(which_runtime()) == rt.handle());
  });
}

TEST(Runtime, CurrentRuntimeOutsideThrowsLogicError) {
  EXPECT_THROW((void)bg::current_runtime(), std::logic_error);
  if (bg::testing::flavor_selected(bg::flavor::current_thread)) {
    bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
    (void)rt.block_on(forty_two());
    EXPECT_THROW((void)bg::current_runtime(), std::logic_error)
        << "block_on must restore the thread's context when it returns";
  }
}

TEST(Runtime, EmptyHandleThrowsLogicError) {
  bg::testing::frame_accounting accounting;
  bg::runtime_handle empty;
  EXPECT_FALSE(empty);
  EXPECT_THROW((void)empty.metrics(), std::logic_error);
  EXPECT_THROW((void)empty.dump_tasks(), std::logic_error);
  EXPECT_THROW((void)empty.spawn(forty_two()), std::logic_error);
  EXPECT_TRUE(empty == bg::runtime_handle{});
}

TEST(Runtime, HandlesCompareByRuntime) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::runtime a{bg::testing::options_for(f)};
    bg::runtime b{bg::testing::options_for(f)};
    bg::runtime_handle ha = a.handle();
    bg::runtime_handle copy = ha;
    EXPECT_TRUE(copy == a.handle());
    EXPECT_FALSE(ha == b.handle());
  });
}

TEST(Runtime, OptionsAreKept) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::runtime_options o = bg::testing::options_for(f);
    o.trace_path = "";
    bg::runtime rt{o};
    EXPECT_EQ(rt.options().flavor, f);
    EXPECT_EQ(rt.options().worker_threads, 2u);
    EXPECT_EQ(rt.metrics().workers, expected_workers(f));
  });
}

TEST(Runtime, DefaultRuntimeIsMultiThread) {
  if (!bg::testing::flavor_selected(bg::flavor::multi_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  bg::runtime rt;
  EXPECT_EQ(rt.options().flavor, bg::flavor::multi_thread);
  EXPECT_GE(rt.metrics().workers, 1u);
  EXPECT_EQ(rt.block_on(forty_two()), 42);
  EXPECT_EQ(bg::block_on(forty_two()), 42) << "the free block_on uses a default runtime";
}

// ---- metrics ------------------------------------------------------------------

namespace {
bg::task<bg::runtime_metrics> park_ten_and_measure(manual_event& ev) {
  std::vector<bg::join_handle<int>> hs;
  for (int i = 0; i < 10; ++i) hs.push_back(bg::spawn(bg::testing::parked_value(ev, i)));
  co_await bg::testing::until_waiters(ev, 10);
  const bg::runtime_metrics m = bg::current_runtime().metrics();
  ev.set();
  int sum = 0;
  for (auto& h : hs) sum += co_await h;
  EXPECT_EQ(sum, 45);
  co_return m;
}
}  // namespace

TEST(Runtime, MetricsCountSpawnsPollsAndLiveTasks) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    manual_event ev;
    bg::runtime rt{bg::testing::options_for(f)};
    const bg::runtime_metrics m0 = rt.metrics();
    EXPECT_EQ(m0.workers, expected_workers(f));
    EXPECT_EQ(m0.spawned, 0u);
    EXPECT_EQ(m0.live_tasks, 0u);
    const bg::runtime_metrics during = rt.block_on(park_ten_and_measure(ev));
    EXPECT_EQ(during.live_tasks, 11u) << "ten parked tasks and the block_on task";
    EXPECT_EQ(during.spawned, 11u);
    EXPECT_GE(during.polls, 11u) << "every task ran at least once";
    const bg::runtime_metrics m1 = rt.metrics();
    EXPECT_EQ(m1.live_tasks, 0u);
    EXPECT_EQ(m1.spawned, 11u);
    EXPECT_GE(m1.polls, 21u) << "each parked task ran twice: to park and to finish";
    EXPECT_GE(m1.polls, during.polls);
  });
}

TEST(Runtime, CurrentThreadMetricsAreExact) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
  EXPECT_EQ(rt.block_on(forty_two()), 42);
  const bg::runtime_metrics m = rt.metrics();
  EXPECT_EQ(m.spawned, 1u);
  EXPECT_EQ(m.polls, 1u) << "a task that never suspends runs once";
  EXPECT_EQ(m.live_tasks, 0u);
  EXPECT_EQ(m.steals, 0u);
  EXPECT_EQ(m.inject_queue_depth, 0u);
  EXPECT_EQ(m.local_queue_depth, 0u);
  EXPECT_EQ(rt.block_on(text()), "text");
  EXPECT_EQ(rt.metrics().polls, 3u) << "one yield: two runs";
}

// ---- shutdown -------------------------------------------------------------------

TEST(Runtime, ShutdownDestroysParkedTasksAndCancelsTheirHandles) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    manual_event ev;  // outlives the runtime: parked awaiters unlink at shutdown
    std::vector<bg::join_handle<int>> handles;
    bg::join_handle<int> kept;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 8; ++i) handles.push_back(rt.spawn(parked_counted(ev), "parked"));
      kept = rt.spawn(parked_counted(ev), "kept");
      rt.block_on(bg::testing::until_waiters(ev, 9));
      EXPECT_EQ(counted::alive(), 9);
      rt.shutdown();
      EXPECT_EQ(counted::alive(), 0) << "shutdown must run every parked task's destructors";
      EXPECT_EQ(counted::destroyed(), counted::constructed()) << "exactly once";
      EXPECT_EQ(ev.waiters(), 0u);
      EXPECT_EQ(rt.metrics().live_tasks, 0u);
      rt.shutdown();  // idempotent
      EXPECT_EQ(counted::destroyed(), 9);
      for (auto& h : handles) {
        EXPECT_TRUE(h.is_finished());
        EXPECT_THROW((void)h.take_result(), bg::cancelled);
      }
    }
    // A handle that outlives its runtime still reports cancelled.
    EXPECT_TRUE(kept.is_finished());
    EXPECT_THROW((void)kept.take_result(), bg::cancelled);
    ev.set();
    EXPECT_EQ(ev.wakes(), 0u) << "nobody is left to wake";
  });
}

TEST(Runtime, ShutdownCancelsAHandleHeldByAPlainThread) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    manual_event ev;
    std::promise<void> shut_down;
    std::atomic<int> finished_seen{-1};
    std::atomic<int> cancelled_seen{-1};
    std::thread holder;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      auto h = rt.spawn(parked_counted(ev), "held-by-thread");
      rt.block_on(bg::testing::until_waiters(ev, 1));
      holder = std::thread([h = std::move(h), done = shut_down.get_future(), &finished_seen,
                            &cancelled_seen]() mutable {
        done.wait();
        finished_seen = h.is_finished() ? 1 : 0;
        try {
          (void)h.take_result();
          cancelled_seen = 0;
        } catch (const bg::cancelled&) {
          cancelled_seen = 1;
        }
      });
      rt.shutdown();
      shut_down.set_value();
      holder.join();
    }
    EXPECT_EQ(finished_seen.load(), 1);
    EXPECT_EQ(cancelled_seen.load(), 1);
    EXPECT_EQ(counted::alive(), 0);
  });
}

TEST(Runtime, SpawnAfterShutdownYieldsACancelledHandle) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    std::atomic<int> runs{0};
    bg::runtime_handle handle;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      handle = rt.handle();
      rt.shutdown();
      auto h = rt.spawn(counted_param(runs, counted{1}), "too-late");
      EXPECT_TRUE(h.is_finished());
      EXPECT_THROW((void)h.take_result(), bg::cancelled);
      auto g = handle.spawn(counted_param(runs, counted{2}));
      EXPECT_TRUE(g.is_finished());
      EXPECT_THROW((void)g.take_result(), bg::cancelled);
      EXPECT_THROW((void)rt.block_on(forty_two()), bg::cancelled) << "block_on after shutdown";
    }
    // The handle stays valid after the runtime is gone.
    EXPECT_TRUE(handle);
    {
      auto late = handle.spawn(counted_param(runs, counted{3}));
      EXPECT_TRUE(late.is_finished());
      EXPECT_THROW((void)late.take_result(), bg::cancelled);
    }
    EXPECT_EQ(handle.metrics().live_tasks, 0u);
    EXPECT_EQ(runs.load(), 0) << "a refused task never runs";
    EXPECT_EQ(counted::alive(), 0) << "a refused task's frame is destroyed";
  });
}

TEST(Runtime, DestroyedWithTasksThatNeverRan) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  counted::reset();
  std::atomic<int> runs{0};
  std::vector<bg::join_handle<int>> handles;
  {
    bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
    // Remote spawns with no block_on: they sit in the inject queue.
    for (int i = 0; i < 5; ++i) handles.push_back(rt.spawn(counted_param(runs, counted{i})));
    for (int i = 0; i < 5; ++i) rt.spawn(counted_param(runs, counted{i}), "detached").detach();
    EXPECT_EQ(counted::alive(), 10);
  }
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(counted::alive(), 0);
  for (auto& h : handles) {
    EXPECT_TRUE(h.is_finished());
    EXPECT_THROW((void)h.take_result(), bg::cancelled);
  }
}

namespace {
bg::task<int> spawn_and_leave(std::atomic<int>& runs, std::vector<bg::join_handle<int>>& out) {
  for (int i = 0; i < 5; ++i) out.push_back(bg::spawn(counted_param(runs, counted{i})));
  for (int i = 0; i < 5; ++i) bg::spawn(counted_param(runs, counted{i})).detach();
  co_return 0;  // FIFO: the spawned tasks are queued behind this body
}
}  // namespace

TEST(Runtime, DestroyedWithTasksQueuedByATask) {
  if (!bg::testing::flavor_selected(bg::flavor::current_thread)) GTEST_SKIP();
  bg::testing::frame_accounting accounting;
  counted::reset();
  std::atomic<int> runs{0};
  std::vector<bg::join_handle<int>> handles;
  {
    bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
    EXPECT_EQ(rt.block_on(spawn_and_leave(runs, handles)), 0);
    EXPECT_EQ(rt.metrics().live_tasks, 10u);
  }
  EXPECT_EQ(runs.load(), 0) << "queued behind the block_on task, never run";
  EXPECT_EQ(counted::alive(), 0);
  for (auto& h : handles) EXPECT_THROW((void)h.take_result(), bg::cancelled);
}

TEST(Runtime, DestroyedWithPendingTasksOnEveryFlavor) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    manual_event never;
    std::atomic<int> runs{0};
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 50; ++i) rt.spawn(counted_param(runs, counted{i})).detach();
      for (int i = 0; i < 50; ++i) rt.spawn(parked_counted(never)).detach();
    }
    EXPECT_EQ(counted::alive(), 0) << "run or not, every frame is destroyed";
    EXPECT_EQ(never.waiters(), 0u);
  });
}

namespace {
bg::task<int> shut_down_from_inside(bg::runtime& rt, manual_event& never, int& reached) {
  std::vector<bg::join_handle<int>> parked;
  for (int i = 0; i < 3; ++i) parked.push_back(bg::spawn(parked_counted(never)));
  co_await bg::testing::until_waiters(never, 3);
  rt.shutdown();  // from a task: the runtime finishes the job when this task suspends
  reached = 1;
  auto refused = bg::spawn(forty_two());
  EXPECT_TRUE(refused.is_finished()) << "spawning on a runtime that shut down is refused";
  EXPECT_THROW((void)refused.take_result(), bg::cancelled);
  co_await never.wait();  // never returns: the runtime destroys this frame
  reached = 2;
  co_return 1;
}
}  // namespace

TEST(Runtime, ShutdownCalledFromInsideATask) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    manual_event never;
    int reached = 0;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      EXPECT_THROW((void)rt.block_on(shut_down_from_inside(rt, never, reached)), bg::cancelled);
      EXPECT_EQ(reached, 1);
      EXPECT_EQ(counted::alive(), 0) << "the parked tasks were destroyed";
      EXPECT_EQ(rt.metrics().live_tasks, 0u);
      EXPECT_EQ(never.waiters(), 0u);
      EXPECT_THROW((void)rt.block_on(forty_two()), bg::cancelled);
    }
  });
}

namespace {
bg::task<int> shut_down_and_return(bg::runtime& rt) {
  rt.shutdown();
  co_return 5;
}
}  // namespace

TEST(Runtime, ShutdownFromInsideATaskThatThenFinishes) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::runtime rt{bg::testing::options_for(f)};
    // The task finishes without suspending again: its value, or cancelled if
    // the teardown got there first; either way the runtime is shut down.
    try {
      EXPECT_EQ(rt.block_on(shut_down_and_return(rt)), 5);
    } catch (const bg::cancelled&) {
    }
    auto h = rt.spawn(forty_two());
    EXPECT_TRUE(h.is_finished());
    EXPECT_THROW((void)h.take_result(), bg::cancelled);
  });
}

namespace {
/// Runs code from a destructor during shutdown: spawns (refused) and sets
/// an event another parked task waits on.
struct meddles_on_destroy {
  manual_event* other;
  std::atomic<int>* spawn_refused;
  ~meddles_on_destroy() {
    try {
      auto h = bg::spawn(forty_two());
      if (h.is_finished()) spawn_refused->fetch_add(1);
    } catch (const std::logic_error&) {
      spawn_refused->fetch_add(1);  // no runtime on this thread: refused too
    }
    other->set();
  }
};

bg::task<int> meddler(manual_event& never, manual_event& other, std::atomic<int>& refused) {
  meddles_on_destroy m{&other, &refused};
  counted c;
  co_await never.wait();
  co_return 0;
}
}  // namespace

TEST(Runtime, DestructorsRunDuringShutdownMaySpawnAndWake) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    manual_event never;
    manual_event other;
    std::atomic<int> refused{0};
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 4; ++i) {
        rt.spawn(meddler(never, other, refused)).detach();
        rt.spawn(parked_counted(other)).detach();
      }
      rt.block_on(bg::testing::until_waiters(never, 4));
      rt.block_on(bg::testing::until_waiters(other, 4));
    }
    EXPECT_EQ(refused.load(), 4) << "every spawn from a shutdown destructor is refused";
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(never.waiters(), 0u);
    EXPECT_EQ(other.waiters(), 0u);
  });
}

namespace {
bg::task<int> park_until(manual_event& ev, std::atomic<bool>& entered) {
  entered.store(true);
  co_await ev.wait();
  co_return 4;
}
}  // namespace

TEST(Runtime, DumpAndMetricsFromAnotherThreadWhileBlockOnRuns) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    manual_event release;
    manual_event never;
    std::atomic<bool> entered{false};
    bg::runtime rt{bg::testing::options_for(f)};
    auto sleeper = rt.spawn(bg::testing::parked_value(never, 0), "observed-sleeper");
    int result = 0;
    std::thread driver([&] { result = rt.block_on(park_until(release, entered)); });
    while (!entered.load() || never.waiters() == 0) std::this_thread::yield();
    // The runtime is driven by another thread right now.
    const std::string dump = rt.dump_tasks();
    EXPECT_NE(dump.find("'observed-sleeper'"), std::string::npos) << dump;
    EXPECT_NE(dump.find("'block_on'"), std::string::npos) << dump;
    EXPECT_EQ(rt.metrics().live_tasks, 2u);
    release.set();
    driver.join();
    EXPECT_EQ(result, 4);
    sleeper.abort();
  });
}

TEST(Runtime, ShutdownFromAnotherThreadWhileBlockOnRuns) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    counted::reset();
    manual_event never;
    std::atomic<bool> entered{false};
    std::atomic<int> outcome{0};  // 1 value, 2 cancelled, 3 other
    {
      bg::runtime rt{bg::testing::options_for(f)};
      for (int i = 0; i < 4; ++i) rt.spawn(parked_counted(never)).detach();
      std::thread driver([&] {
        try {
          (void)rt.block_on(park_until(never, entered));
          outcome = 1;
        } catch (const bg::cancelled&) {
          outcome = 2;
        } catch (...) {
          outcome = 3;
        }
      });
      while (!entered.load() || never.waiters() < 5) std::this_thread::yield();
      rt.shutdown();  // must tear down the tasks under the running block_on
      driver.join();
      EXPECT_EQ(counted::alive(), 0);
      EXPECT_EQ(never.waiters(), 0u);
      EXPECT_EQ(rt.metrics().live_tasks, 0u);
    }
    EXPECT_EQ(outcome.load(), 2) << "the interrupted block_on reports cancelled";
  });
}

TEST(Runtime, BlockOnKeepsOtherTasksRunning) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    manual_event done;
    bg::runtime rt{bg::testing::options_for(f)};
    auto background = [](manual_event& d) -> bg::task<> {
      co_await bg::yield_now();
      d.set();
    };
    rt.spawn(background(done), "background").detach();
    auto wait_for = [](manual_event& d) -> bg::task<int> {
      co_await d.wait();
      co_return 1;
    };
    EXPECT_EQ(rt.block_on(wait_for(done)), 1);
  });
}
