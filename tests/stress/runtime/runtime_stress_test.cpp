// Stress tests of the task machinery: remote spawns, abort racing with
// completion, and the wait-node set-vs-cancel race. Bounded loops,
// parameterized by flavor and thread count; run under TSan and ASan+UBSan.
#include <brigade/runtime.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/when.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace bg = brigade;
using bg::testing::manual_event;

namespace {

using stress_param = std::tuple<bg::flavor, int>;

std::string param_name(const ::testing::TestParamInfo<stress_param>& info) {
  return std::string(bg::testing::flavor_name(std::get<0>(info.param))) + "_" +
         std::to_string(std::get<1>(info.param)) + "_threads";
}

class stress_test : public ::testing::TestWithParam<stress_param> {
 protected:
  void SetUp() override {
    if (!bg::testing::flavor_selected(flavor())) GTEST_SKIP() << "flavor not selected";
  }
  bg::flavor flavor() const { return std::get<0>(GetParam()); }
  int threads() const { return std::get<1>(GetParam()); }
  bg::runtime_options options() const { return bg::testing::options_for(flavor()); }
};

// ---- fork-join under stealing ---------------------------------------------------

class ForkJoinStress : public stress_test {};

/// fib with a spawn at every level; every 7th level also yields in the
/// child, so some nested runs end with the child queued again, and every
/// 11th aborts a throwaway sibling that may be taken back and run at once.
bg::task<std::int64_t> stress_fib(int n) {
  if (n < 2) co_return n;
  bg::join_handle<std::int64_t> child = bg::spawn(stress_fib(n - 1));
  if (n % 11 == 0) {
    bg::join_handle<std::int64_t> doomed = bg::spawn(stress_fib(2));
    doomed.abort();
    try {
      (void)co_await doomed;
    } catch (const bg::cancelled&) {
    }
  }
  if (n % 7 == 0) co_await bg::yield_now();
  const std::int64_t b = co_await stress_fib(n - 2);
  co_return co_await child + b;
}

bg::task<> until_count(const std::atomic<int>& count, int n) {
  while (count.load() < n) co_await bg::sleep(std::chrono::milliseconds(1));
}

TEST_P(ForkJoinStress, JoinsTakeChildrenBackWhileOthersSteal) {
  // Joiners take their children back from the tail of their queue while
  // idle workers steal from the front (and plain threads spawn more fork-join
  // trees from outside): every tree's sum is exact and nothing leaks.
  bg::testing::frame_accounting accounting;
  {
    bg::runtime rt{options()};
    std::vector<std::thread> ts;
    std::atomic<int> wrong{0};
    std::atomic<int> finished{0};
    for (int t = 0; t < threads(); ++t) {
      ts.emplace_back([&] {
        for (int round = 0; round < 5; ++round) {
          bg::join_handle<std::int64_t> h = rt.spawn(stress_fib(14));
          while (!h.is_finished()) std::this_thread::yield();
          if (h.take_result() != 377) wrong.fetch_add(1);
        }
        finished.fetch_add(1);
      });
    }
    for (int round = 0; round < 10; ++round) EXPECT_EQ(rt.block_on(stress_fib(17)), 1597);
    // current_thread runs tasks only inside block_on: keep driving until the
    // plain threads' trees are done too.
    rt.block_on(until_count(finished, threads()));
    for (auto& t : ts) t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(bg::testing::live_tasks_settled(rt), 0u);
  }
}

// ---- remote spawns ------------------------------------------------------------

class RemoteSpawnStress : public stress_test {};

bg::task<std::int64_t> leaf(std::int64_t v) {
  co_await bg::yield_now();
  co_return v;
}

bg::task<std::int64_t> remote_work(std::int64_t v) {
  if (v % 3 == 0) co_await bg::yield_now();
  if (v % 5 == 0) co_return co_await bg::spawn(leaf(v));
  co_return v;
}

bg::task<> wait_event(manual_event& ev) { co_await ev.wait(); }

TEST_P(RemoteSpawnStress, PlainThreadsSpawnWhileBlockOnDrives) {
  bg::testing::frame_accounting accounting;
  constexpr int per_thread = 2000;
  const int n = threads();
  manual_event all_joined;
  std::atomic<int> remaining{n};
  std::vector<std::int64_t> sums(static_cast<std::size_t>(n), 0);
  std::vector<std::int64_t> expected(static_cast<std::size_t>(n), 0);
  {
    bg::runtime rt{options()};
    std::vector<std::thread> ts;
    for (int t = 0; t < n; ++t) {
      ts.emplace_back([&, t] {
        bg::runtime_handle handle = rt.handle();
        std::vector<bg::join_handle<std::int64_t>> hs;
        hs.reserve(per_thread);
        for (int i = 0; i < per_thread; ++i) {
          const std::int64_t v = std::int64_t{t} * per_thread + i;
          expected[static_cast<std::size_t>(t)] += v;
          hs.push_back(i % 2 == 0 ? handle.spawn(remote_work(v)) : rt.spawn(remote_work(v)));
          // Now and then, collect an earlier result while spawns continue.
          if (i % 97 == 0 && i > 0) {
            auto& early = hs[static_cast<std::size_t>(i / 2)];
            while (!early.is_finished()) std::this_thread::yield();
          }
        }
        for (auto& h : hs) {
          while (!h.is_finished()) std::this_thread::yield();
          sums[static_cast<std::size_t>(t)] += h.take_result();
        }
        if (remaining.fetch_sub(1) == 1) all_joined.set();
      });
    }
    rt.block_on(wait_event(all_joined));
    for (auto& t : ts) t.join();
    EXPECT_EQ(rt.metrics().spawned,
              static_cast<std::uint64_t>(n * per_thread + n * per_thread / 5 + 1));
  }
  EXPECT_EQ(sums, expected);
}

TEST_P(RemoteSpawnStress, RemoteSpawnsWakeAnIdleDriver) {
  // The driver parks whenever its queue is empty; every remote spawn must
  // wake it (no lost unpark). Each task signals the next spawn.
  bg::testing::frame_accounting accounting;
  constexpr int rounds = 500;
  const int n = threads();
  manual_event done;
  std::atomic<int> finished{0};
  const int total = rounds * n;
  bg::runtime rt{options()};
  auto note = [](std::atomic<int>& fin, int all, manual_event& d) -> bg::task<> {
    if (fin.fetch_add(1) + 1 == all) d.set();
    co_return;
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < n; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        auto h = rt.spawn(note(finished, total, done));
        while (!h.is_finished()) std::this_thread::yield();  // one at a time
      }
    });
  }
  rt.block_on(wait_event(done));
  for (auto& t : ts) t.join();
  EXPECT_EQ(finished.load(), total);
}

// ---- abort racing with completion ---------------------------------------------

class AbortRaceStress : public stress_test {};

using abort_counted = bg::testing::basic_counted<struct abort_race_tag>;

bg::task<int> abort_racer(manual_event& ev, int i, std::atomic<int>& completed) {
  abort_counted local{i};
  co_await ev.wait();
  completed.store(1, std::memory_order_relaxed);
  co_return local.value();
}

struct abort_race {
  explicit abort_race(int n)
      : events(static_cast<std::size_t>(n)), completed(static_cast<std::size_t>(n)) {}
  std::vector<manual_event> events;
  std::vector<std::atomic<int>> completed;
  std::vector<bg::join_handle<int>> handles;
  std::atomic<bool> start{false};
  std::atomic<int> racers_left{0};
  manual_event racers_done;
  std::vector<int> outcome;  // 1 value, 2 cancelled
};

std::size_t parked(const abort_race& r) {
  std::size_t n = 0;
  for (const auto& ev : r.events) n += ev.waiters();
  return n;
}

bg::task<> run_abort_race(abort_race& r) {
  const int n = static_cast<int>(r.events.size());
  for (int i = 0; i < n; ++i) {
    r.handles.push_back(bg::spawn(abort_racer(r.events[static_cast<std::size_t>(i)], i,
                                              r.completed[static_cast<std::size_t>(i)])));
  }
  while (parked(r) < r.events.size()) co_await bg::yield_now();
  r.start.store(true, std::memory_order_release);
  co_await r.racers_done.wait();  // the racers no longer touch the handles
  r.outcome.assign(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    try {
      const int v = co_await r.handles[k];
      EXPECT_EQ(v, i);
      r.outcome[k] = 1;
    } catch (const bg::cancelled&) {
      r.outcome[k] = 2;
    }
  }
}

TEST_P(AbortRaceStress, SetEventsWhileAbortingHandles) {
  bg::testing::frame_accounting accounting;
  abort_counted::reset();
  constexpr int n = 2000;
  const int t = threads();
  abort_race race(n);
  race.racers_left.store(2 * t);
  std::vector<std::thread> racers;
  {
    bg::runtime rt{options()};
    for (int s = 0; s < t; ++s) {
      // Setters go forwards, aborters backwards: they meet mid-way and race.
      racers.emplace_back([&race, s, t] {
        while (!race.start.load(std::memory_order_acquire)) std::this_thread::yield();
        for (int i = s; i < n; i += t) race.events[static_cast<std::size_t>(i)].set();
        if (race.racers_left.fetch_sub(1) == 1) race.racers_done.set();
      });
      racers.emplace_back([&race, s, t] {
        while (!race.start.load(std::memory_order_acquire)) std::this_thread::yield();
        int last = n - 1 - ((n - 1 - s) % t);
        for (int i = last; i >= 0; i -= t) race.handles[static_cast<std::size_t>(i)].abort();
        if (race.racers_left.fetch_sub(1) == 1) race.racers_done.set();
      });
    }
    rt.block_on(run_abort_race(race));
    for (auto& th : racers) th.join();
  }
  int values = 0;
  int cancels = 0;
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const int o = race.outcome[k];
    ASSERT_TRUE(o == 1 || o == 2) << "task " << i << " has no outcome";
    const bool completed = race.completed[k].load() == 1;
    EXPECT_EQ(o == 1, completed) << "task " << i << ": value XOR cancelled, matching its body";
    (o == 1 ? values : cancels) += 1;
  }
  EXPECT_EQ(values + cancels, n);
  EXPECT_EQ(abort_counted::alive(), 0);
  EXPECT_EQ(abort_counted::constructed(), n);
  EXPECT_EQ(abort_counted::destroyed(), n) << "each frame destroyed exactly once";
  for (const auto& ev : race.events) EXPECT_EQ(ev.waiters(), 0u);
  RecordProperty("values", values);
  RecordProperty("cancels", cancels);
}

// ---- set vs cancel ×10,000 -------------------------------------------------------

class SetVsCancelStress : public stress_test {};

using race_counted = bg::testing::basic_counted<struct set_vs_cancel_tag>;

bg::task<int> race_waiter(manual_event& ev, std::atomic<int>& completed) {
  race_counted local{1};
  co_await ev.wait();
  completed.store(1, std::memory_order_relaxed);
  co_return 1;
}

struct set_vs_cancel {
  set_vs_cancel(int iterations, int chains)
      : events(static_cast<std::size_t>(iterations)),
        completed(static_cast<std::size_t>(iterations)),
        armed(static_cast<std::size_t>(chains)) {
    for (auto& a : armed) a.store(-1);
  }
  std::vector<manual_event> events;
  std::vector<std::atomic<int>> completed;
  std::vector<std::atomic<int>> armed;  // per chain: the last armed iteration
  std::atomic<bool> stop{false};
  std::atomic<int> values{0};
  std::atomic<int> cancels{0};
  std::atomic<int> mismatches{0};
};

bg::task<> race_chain(set_vs_cancel& r, int chain, int chains) {
  const int n = static_cast<int>(r.events.size());
  for (int k = chain; k < n; k += chains) {
    const auto i = static_cast<std::size_t>(k);
    auto h = bg::spawn(race_waiter(r.events[i], r.completed[i]));
    // Mostly race against a parked waiter (the poll's withdraw path); now
    // and then against one that may not have parked yet.
    if (k % 4 != 0) co_await bg::testing::until_waiters(r.events[i], 1);
    r.armed[static_cast<std::size_t>(chain)].store(k, std::memory_order_release);
    if (k % 3 == 1) co_await bg::yield_now();
    h.abort();
    bool got_value = false;
    try {
      got_value = (co_await h) == 1;
    } catch (const bg::cancelled&) {
      got_value = false;
    }
    const bool completed = r.completed[i].load(std::memory_order_relaxed) == 1;
    if (got_value != completed) r.mismatches.fetch_add(1);
    (got_value ? r.values : r.cancels).fetch_add(1);
  }
}

bg::task<> run_set_vs_cancel(set_vs_cancel& r, int chains) {
  std::vector<bg::join_handle<void>> hs;
  for (int c = 0; c < chains; ++c) hs.push_back(bg::spawn(race_chain(r, c, chains)));
  for (auto& h : hs) co_await h;
}

TEST_P(SetVsCancelStress, CompletedXorCancelled) {
  bg::testing::frame_accounting accounting;
  race_counted::reset();
  constexpr int iterations = 10'000;
  const int chains = threads();
  set_vs_cancel race(iterations, chains);
  std::vector<std::thread> setters;
  {
    bg::runtime rt{options()};
    for (int c = 0; c < chains; ++c) {
      setters.emplace_back([&race, c, chains] {
        for (int k = c; k < iterations; k += chains) {
          while (race.armed[static_cast<std::size_t>(c)].load(std::memory_order_acquire) < k) {
            if (race.stop.load()) return;
            std::this_thread::yield();
          }
          race.events[static_cast<std::size_t>(k)].set();
        }
      });
    }
    try {
      rt.block_on(run_set_vs_cancel(race, chains));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "block_on threw: " << e.what();
    }
    race.stop.store(true);
    for (auto& s : setters) s.join();
  }
  EXPECT_EQ(race.mismatches.load(), 0) << "an outcome disagreed with what the body did";
  EXPECT_EQ(race.values.load() + race.cancels.load(), iterations) << "exactly one outcome each";
  EXPECT_EQ(race_counted::alive(), 0);
  EXPECT_EQ(race_counted::destroyed(), race_counted::constructed());
  for (const auto& ev : race.events) EXPECT_EQ(ev.waiters(), 0u);
  RecordProperty("values", race.values.load());
  RecordProperty("cancels", race.cancels.load());
}

// Joiner cancellation racing with the joined task's completion: the joiner
// is aborted while the target is being released from a plain thread.
class JoinAbortRaceStress : public stress_test {};

bg::task<int> join_target(bg::join_handle<int>& target) { co_return co_await target; }

bg::task<> run_join_abort_race(int iterations, std::vector<manual_event>& events,
                               std::atomic<int>& armed, std::atomic<int>& mismatches) {
  for (int k = 0; k < iterations; ++k) {
    auto& ev = events[static_cast<std::size_t>(k)];
    auto target = bg::spawn(bg::testing::parked_value(ev, k));
    auto joiner = bg::spawn(join_target(target));
    co_await bg::testing::until_waiters(ev, 1);
    armed.store(k, std::memory_order_release);
    joiner.abort();
    bool joiner_got_value = false;
    try {
      joiner_got_value = (co_await joiner) == k;
    } catch (const bg::cancelled&) {
    }
    if (joiner_got_value) {
      // The joiner took the result: the handle is consumed.
      if (target.valid()) mismatches.fetch_add(1);
    } else {
      // The joiner withdrew: the target is still ours to await.
      if (!target.valid() || (co_await target) != k) mismatches.fetch_add(1);
    }
  }
}

TEST_P(JoinAbortRaceStress, AbortedJoinerNeverLosesTheResult) {
  bg::testing::frame_accounting accounting;
  constexpr int iterations = 3000;
  std::vector<manual_event> events(iterations);
  std::atomic<int> armed{-1};
  std::atomic<int> mismatches{0};
  std::atomic<bool> stop{false};
  {
    bg::runtime rt{options()};
    std::thread setter([&] {
      for (int k = 0; k < iterations; ++k) {
        while (armed.load(std::memory_order_acquire) < k) {
          if (stop.load()) return;
          std::this_thread::yield();
        }
        events[static_cast<std::size_t>(k)].set();
      }
    });
    try {
      rt.block_on(run_join_abort_race(iterations, events, armed, mismatches));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "block_on threw: " << e.what();
    }
    stop.store(true);
    setter.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

// ---- spawn racing shutdown -----------------------------------------------------

class SpawnShutdownRaceStress : public stress_test {};

using shutdown_counted = bg::testing::basic_counted<struct spawn_shutdown_tag>;

bg::task<int> counted_value(shutdown_counted c) {
  if (c.value() % 2 == 0) co_await bg::yield_now();
  co_return c.value();
}

// Plain threads keep spawning (through runtime_handles) while the runtime is
// driven and then shut down: every handle must end finished, with its value
// or cancelled, and every frame must be destroyed exactly once.
TEST_P(SpawnShutdownRaceStress, EveryHandleEndsWithValueOrCancelled) {
  bg::testing::frame_accounting accounting;
  shutdown_counted::reset();
  constexpr int per_thread = 1500;
  const int n = threads();
  std::vector<std::vector<bg::join_handle<int>>> handles(static_cast<std::size_t>(n));
  std::atomic<int> spawned{0};
  manual_event enough;
  std::vector<std::thread> ts;
  {
    bg::runtime rt{options()};
    for (int t = 0; t < n; ++t) {
      ts.emplace_back([&, t, handle = rt.handle()] {
        auto& mine = handles[static_cast<std::size_t>(t)];
        mine.reserve(per_thread);
        for (int i = 0; i < per_thread; ++i) {
          mine.push_back(handle.spawn(counted_value(shutdown_counted{i})));
          if (spawned.fetch_add(1) + 1 == n * per_thread / 2) enough.set();
        }
      });
    }
    rt.block_on(wait_event(enough));  // run some of them, then shut down mid-stream
    rt.shutdown();
    for (auto& th : ts) th.join();
  }
  int values = 0;
  int cancels = 0;
  for (int t = 0; t < n; ++t) {
    auto& mine = handles[static_cast<std::size_t>(t)];
    ASSERT_EQ(mine.size(), static_cast<std::size_t>(per_thread));
    for (int i = 0; i < per_thread; ++i) {
      auto& h = mine[static_cast<std::size_t>(i)];
      ASSERT_TRUE(h.is_finished()) << "thread " << t << " task " << i << " never finished";
      try {
        EXPECT_EQ(h.take_result(), i);
        ++values;
      } catch (const bg::cancelled&) {
        ++cancels;
      }
    }
  }
  handles.clear();
  EXPECT_EQ(values + cancels, n * per_thread);
  EXPECT_EQ(shutdown_counted::alive(), 0);
  RecordProperty("values", values);
  RecordProperty("cancels", cancels);
}

// ---- when_any with winners set from plain threads -----------------------------------

class WhenAnyRaceStress : public stress_test {};

using any_counted = bg::testing::basic_counted<struct when_any_race_tag>;

bg::task<int> any_child(manual_event& ev, int v, std::atomic<int>& completed) {
  any_counted local{v};
  co_await ev.wait();
  completed.fetch_add(1);
  co_return v;
}

bg::task<> run_when_any_race(int iterations, std::vector<manual_event>& a,
                             std::vector<manual_event>& b, std::atomic<int>& armed,
                             std::atomic<int>& bad) {
  for (int k = 0; k < iterations; ++k) {
    const auto i = static_cast<std::size_t>(k);
    std::atomic<int> completed{0};
    auto race =
        bg::spawn(bg::when_any(any_child(a[i], 1, completed), any_child(b[i], 2, completed)));
    co_await bg::testing::until_waiters(a[i], 1);
    co_await bg::testing::until_waiters(b[i], 1);
    armed.store(k, std::memory_order_release);
    const auto r = co_await race;
    // The winner's value matches its index; the loser was cancelled, or
    // completed too and was dropped; no child outlives the when_any.
    if (static_cast<int>(r.index) + 1 != r.value) bad.fetch_add(1);
    if (completed.load() < 1) bad.fetch_add(1);
    if (a[i].waiters() + b[i].waiters() != 0) bad.fetch_add(1);
  }
}

TEST_P(WhenAnyRaceStress, OneWinnerLosersGone) {
  bg::testing::frame_accounting accounting;
  any_counted::reset();
  constexpr int iterations = 2000;
  std::vector<manual_event> a(iterations);
  std::vector<manual_event> b(iterations);
  std::atomic<int> armed{-1};
  std::atomic<int> bad{0};
  std::atomic<bool> stop{false};
  const int n = threads();
  {
    bg::runtime rt{options()};
    std::vector<std::thread> setters;
    for (int s = 0; s < n; ++s) {
      setters.emplace_back([&, s] {
        // Even threads set a, odd ones b: with two or more threads both
        // events of an iteration are set concurrently.
        auto& mine = (s % 2 == 0) ? a : b;
        auto& other = (s % 2 == 0) ? b : a;
        for (int k = 0; k < iterations; ++k) {
          while (armed.load(std::memory_order_acquire) < k) {
            if (stop.load()) return;
            std::this_thread::yield();
          }
          mine[static_cast<std::size_t>(k)].set();
          if (n == 1) other[static_cast<std::size_t>(k)].set();
        }
      });
    }
    try {
      rt.block_on(run_when_any_race(iterations, a, b, armed, bad));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "block_on threw: " << e.what();
    }
    stop.store(true);
    for (auto& th : setters) th.join();
  }
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(any_counted::alive(), 0);
  EXPECT_EQ(any_counted::constructed(), 2 * iterations);
}

const auto stress_params =
    ::testing::Combine(::testing::Values(bg::flavor::current_thread, bg::flavor::multi_thread),
                       ::testing::Values(1, 2, 4));

INSTANTIATE_TEST_SUITE_P(Threads, RemoteSpawnStress, stress_params, param_name);
INSTANTIATE_TEST_SUITE_P(Threads, ForkJoinStress, stress_params, param_name);
INSTANTIATE_TEST_SUITE_P(Threads, AbortRaceStress, stress_params, param_name);
INSTANTIATE_TEST_SUITE_P(Threads, SetVsCancelStress, stress_params, param_name);
INSTANTIATE_TEST_SUITE_P(Threads, JoinAbortRaceStress, stress_params, param_name);
INSTANTIATE_TEST_SUITE_P(Threads, SpawnShutdownRaceStress, stress_params, param_name);
INSTANTIATE_TEST_SUITE_P(Threads, WhenAnyRaceStress, stress_params, param_name);

}  // namespace
