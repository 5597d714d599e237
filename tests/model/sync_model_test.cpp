// Model check of latch, barrier and shared_mutex on plain threads: no
// waiter is left asleep (a lost wake-up is a deadlock), a barrier phase has
// exactly one leader, a writer excludes everyone and readers share.

#include "model/model.hpp"

#include <brigade/sync/barrier.hpp>
#include <brigade/sync/latch.hpp>
#include <brigade/sync/shared_mutex.hpp>

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace {

namespace model = brigade::model;
using brigade::detail::atomic;

TEST(ModelLatch, WaiterRacesTwoCountDowns) {
  std::set<bool> slept;
  const model::report r = model::explore({}, [&] {
    brigade::latch l(2);
    atomic<int> counted{0};
    model::thread a([&] {
      counted.fetch_add(1);
      l.count_down();
    });
    model::thread b([&] {
      counted.fetch_add(1);
      l.count_down();
    });
    const std::uint64_t blocks_before = model::blocks();
    l.blocking_wait();
    MODEL_CHECK(counted.load() == 2);  // released only after both
    MODEL_CHECK(l.try_wait());
    a.join();
    b.join();
    slept.insert(model::blocks() > blocks_before);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(slept, (std::set<bool>{false, true}));
}

TEST(ModelBarrier, TwoPartiesTwoPhasesOneLeaderEach) {
  std::set<std::pair<int, int>> leaders;  // leader of phase 1, of phase 2
  const model::report r = model::explore({}, [&] {
    brigade::barrier b(2);
    int leader[2] = {0, 0};
    int count[2] = {0, 0};
    const auto party = [&](int who) {
      for (int phase = 0; phase < 2; ++phase) {
        if (b.blocking_arrive_and_wait().is_leader()) {
          leader[phase] = who;
          ++count[phase];
        }
      }
    };
    model::thread other([&] { party(2); });
    party(1);
    other.join();
    MODEL_CHECK(count[0] == 1 && count[1] == 1);  // exactly one leader per phase
    leaders.insert({leader[0], leader[1]});
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(leaders.size(), 4u) << "either party can lead either phase";
}

TEST(ModelSharedMutex, OneWriterTwoReaders) {
  std::set<int> max_readers;
  std::set<bool> writer_first;
  const model::report r = model::explore({}, [&] {
    brigade::shared_mutex m;
    atomic<int> readers{0};
    atomic<int> writers{0};
    int most = 0;
    bool wrote_first = false;
    int done_reading = 0;
    const auto reader = [&] {
      auto g = m.blocking_lock_shared();
      MODEL_CHECK(writers.load() == 0);
      const int now = readers.fetch_add(1) + 1;
      if (now > most) most = now;
      readers.fetch_sub(1);
      ++done_reading;
    };
    model::thread r1(reader);
    model::thread r2(reader);
    {
      auto g = m.blocking_lock();
      wrote_first = done_reading == 0;
      MODEL_CHECK(writers.fetch_add(1) == 0);
      MODEL_CHECK(readers.load() == 0);
      writers.fetch_sub(1);
    }
    r1.join();
    r2.join();
    max_readers.insert(most);
    writer_first.insert(wrote_first);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(max_readers, (std::set<int>{1, 2})) << "readers share the lock";
  EXPECT_EQ(writer_first, (std::set<bool>{false, true}));
}

}  // namespace
