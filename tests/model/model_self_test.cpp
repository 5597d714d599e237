// The explorer finds what it must find: lost updates, lost wake-ups, leaks,
// and replays a failing schedule. Without these, "0 failures" from the model
// tests would prove nothing.

#include "model/model.hpp"

#include <brigade/detail/atomic.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>

namespace {

using brigade::detail::atomic;
namespace model = brigade::model;

// Two non-atomic increments (load, then store) lose an update under some
// interleaving: both outcomes are reachable, and the check on 2 fails.
TEST(ModelSelf, FindsALostUpdateAndReplaysIt) {
  std::set<int> outcomes;
  const auto body = [&] {
    atomic<int> n{0};
    const auto bump = [&] { n.store(n.load() + 1); };
    model::thread a(bump);
    model::thread b(bump);
    a.join();
    b.join();
    outcomes.insert(n.load());
    MODEL_CHECK(n.load() == 2);
  };
  const model::report r = model::explore({}, body);
  EXPECT_TRUE(r.failed);
  EXPECT_NE(r.failure.find("n.load() == 2"), std::string::npos) << r.failure;
  EXPECT_EQ(outcomes, (std::set<int>{1, 2}));

  // The reported schedule reproduces the failure in one execution.
  outcomes.clear();
  model::options replay;
  replay.replay = r.schedule;
  const model::report again = model::explore(replay, body);
  EXPECT_TRUE(again.failed);
  EXPECT_EQ(again.executions, 1u);
  EXPECT_EQ(outcomes, (std::set<int>{1}));
}

// The same counter with fetch_add is correct under every schedule; the
// search completes and counts the interleavings.
TEST(ModelSelf, AtomicIncrementPassesEverySchedule) {
  const model::report r = model::explore({}, [] {
    atomic<int> n{0};
    model::thread a([&] { n.fetch_add(1); });
    model::thread b([&] { n.fetch_add(1); });
    a.join();
    b.join();
    MODEL_CHECK(n.load() == 2);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete);
  EXPECT_GT(r.executions, 1u);
}

// A waiter that checks a flag and then sleeps on a bell, racing a setter
// that rings the bell only when it saw the waiter asleep: a classic lost
// wake-up (the flag is set between the waiter's check and its "asleep"
// store), reported as a deadlock.
TEST(ModelSelf, FindsALostWakeUp) {
  const model::report r = model::explore({}, [] {
    atomic<int> flag{0};
    atomic<int> asleep{0};
    atomic<int> bell{0};
    model::thread waiter([&] {
      if (flag.load() == 0) {
        asleep.store(1);
        bell.wait(0);
      }
    });
    model::thread setter([&] {
      flag.store(1);
      if (asleep.load() == 1) {
        bell.store(1);
        bell.notify_one();
      }
    });
    waiter.join();
    setter.join();
  });
  EXPECT_TRUE(r.failed);
  EXPECT_NE(r.failure.find("deadlock"), std::string::npos) << r.failure;
}

// An object freed by only one of two racing owners leaks under some
// schedules: the end-of-execution accounting reports it.
TEST(ModelSelf, FindsALeak) {
  // The object lives in `slot` (outside the body) so that the deliberate leak
  // does not also trip LeakSanitizer in the asan build; the explorer sees it
  // alive at the end of the execution all the same.
  std::optional<model::tracked> slot;
  const model::report r = model::explore({}, [&] {
    slot.emplace();
    atomic<int> refs{2};
    // Buggy release: load then store, so both may see 2 and neither frees.
    const auto release = [&] {
      const int left = refs.load() - 1;
      refs.store(left);
      if (left == 0) slot.reset();
    };
    model::thread a(release);
    model::thread b(release);
    a.join();
    b.join();
  });
  EXPECT_TRUE(r.failed);
  EXPECT_NE(r.failure.find("leak"), std::string::npos) << r.failure;
}

// A spinning thread is descheduled in favour of the thread it waits for:
// the search stays finite and completes.
TEST(ModelSelf, SpinLoopsTerminate) {
  std::set<int> spins_seen;
  const model::report r = model::explore({}, [&] {
    atomic<int> flag{0};
    int spins = 0;
    model::thread spinner([&] {
      while (flag.load() == 0) {
        ++spins;
        brigade::detail::spin_pause();
      }
    });
    model::thread setter([&] { flag.store(1); });
    spinner.join();
    setter.join();
    spins_seen.insert(spins == 0 ? 0 : 1);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(spins_seen, (std::set<int>{0, 1}));
}

// Random mode runs exactly the requested number of schedules.
TEST(ModelSelf, RandomModeRunsTheRequestedSchedules) {
  model::options o;
  o.random_schedules = 200;
  std::set<int> outcomes;
  const model::report r = model::explore(o, [&] {
    atomic<int> first{0};
    model::thread a([&] {
      int expected = 0;
      first.compare_exchange_strong(expected, 1);
    });
    model::thread b([&] {
      int expected = 0;
      first.compare_exchange_strong(expected, 2);
    });
    a.join();
    b.join();
    outcomes.insert(first.load());
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_EQ(r.executions, 200u);
  EXPECT_EQ(outcomes, (std::set<int>{1, 2}));
}

}  // namespace
