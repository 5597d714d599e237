// brigade::shared_mutex: readers share, writers exclude, FIFO fairness,
// cancellation, threads.
#include <brigade/sync/shared_mutex.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;
using bg::testing::counted;
using bg::testing::until;

namespace {

// Readers hold the lock together (in parallel on multi_thread): the log
// needs its own lock.
std::mutex log_mutex;

bg::task<int> read_and_record(bg::shared_mutex& rw, std::vector<std::string>& log, int id) {
  auto g = co_await rw.lock_shared();
  {
    std::lock_guard lock(log_mutex);
    log.push_back("r" + std::to_string(id));
  }
  co_return id;
}

bg::task<int> write_and_record(bg::shared_mutex& rw, std::vector<std::string>& log, int id) {
  auto g = co_await rw.lock();
  {
    std::lock_guard lock(log_mutex);
    log.push_back("w" + std::to_string(id));
  }
  co_return id;
}

bg::task<int> write_and_hold(bg::shared_mutex& rw, bg::testing::manual_event& release, int id) {
  counted c{id};
  auto g = co_await rw.lock();
  co_await release.wait();
  co_return id;
}

bg::task<> mixed_worker(bg::shared_mutex& rw, long& value, std::atomic<int>& bad, int rounds,
                        bool writer) {
  for (int i = 0; i < rounds; ++i) {
    if (writer) {
      auto g = co_await rw.lock();
      const long v = value;
      co_await bg::yield_now();
      value = v + 1;
    } else {
      auto g = co_await rw.lock_shared();
      const long v = value;
      co_await bg::yield_now();
      if (value != v) bad.fetch_add(1);  // a writer got in while we read
    }
  }
}

}  // namespace

BRIGADE_TEST(SharedMutex, ReadersShareWritersExclude) {
  bg::shared_mutex rw;
  {
    auto a = co_await rw.lock_shared();
    auto b = co_await rw.lock_shared();
    EXPECT_EQ(rw.readers(), 2u);
    EXPECT_FALSE(rw.try_lock().has_value());
    EXPECT_TRUE(rw.try_lock_shared().has_value());
  }
  {
    auto w = co_await rw.lock();
    EXPECT_TRUE(rw.is_locked_exclusive());
    EXPECT_FALSE(rw.try_lock_shared().has_value());
    EXPECT_FALSE(rw.try_lock().has_value());
  }
  EXPECT_EQ(rw.readers(), 0u);
  EXPECT_FALSE(rw.is_locked_exclusive());
}

BRIGADE_TEST(SharedMutex, ReaderArrivingAfterAQueuedWriterWaits) {
  bg::shared_mutex rw;
  std::vector<std::string> log;
  auto r = co_await rw.lock_shared();
  auto w = bg::spawn(write_and_record(rw, log, 1));
  co_await until([&] { return rw.waiters() == 1; });
  EXPECT_FALSE(rw.try_lock_shared().has_value()) << "must not overtake the writer";
  auto r2 = bg::spawn(read_and_record(rw, log, 2));
  co_await until([&] { return rw.waiters() == 2; });
  r.unlock();
  EXPECT_EQ(co_await w, 1);
  EXPECT_EQ(co_await r2, 2);
  BRIGADE_CO_ASSERT(log.size() == 2u);
  EXPECT_EQ(log[0], "w1");
  EXPECT_EQ(log[1], "r2");
}

BRIGADE_TEST(SharedMutex, GrantsFollowArrivalOrder) {
  // Queue: w0 r1 r2 w3 r4 behind a held writer: w0 alone, then r1+r2
  // together, then w3, then r4.
  bg::shared_mutex rw;
  std::vector<std::string> log;
  std::vector<bg::join_handle<int>> hs;
  auto hold = co_await rw.lock();
  const char kinds[] = {'w', 'r', 'r', 'w', 'r'};
  for (int i = 0; i < 5; ++i) {
    hs.push_back(kinds[i] == 'w' ? bg::spawn(write_and_record(rw, log, i))
                                 : bg::spawn(read_and_record(rw, log, i)));
    const auto want = static_cast<std::size_t>(i) + 1;
    co_await until([&] { return rw.waiters() == want; });
  }
  hold.unlock();
  for (auto& h : hs) co_await h;
  BRIGADE_CO_ASSERT(log.size() == 5u);
  EXPECT_EQ(log[0], "w0");
  EXPECT_TRUE((log[1] == "r1" && log[2] == "r2") || (log[1] == "r2" && log[2] == "r1"));
  EXPECT_EQ(log[3], "w3");
  EXPECT_EQ(log[4], "r4");
}

BRIGADE_TEST(SharedMutex, AbortedWriterUnblocksReadersBehindIt) {
  counted::reset();
  bg::shared_mutex rw;
  bg::testing::manual_event release;
  std::vector<std::string> log;
  auto r = co_await rw.lock_shared();
  auto w = bg::spawn(write_and_hold(rw, release, 1));
  co_await until([&] { return rw.waiters() == 1; });
  auto r2 = bg::spawn(read_and_record(rw, log, 2));
  co_await until([&] { return rw.waiters() == 2; });
  w.abort();
  EXPECT_THROW(co_await w, bg::cancelled);
  EXPECT_EQ(co_await r2, 2);  // granted alongside the reader that holds it
  EXPECT_EQ(rw.readers(), 1u);
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST_CURRENT_THREAD(SharedMutex, GrantToAnAbortedWriterIsPassedOn) {
  bg::shared_mutex rw;
  bg::testing::manual_event release;
  std::vector<std::string> log;
  auto r = co_await rw.lock_shared();
  auto w = bg::spawn(write_and_hold(rw, release, 1));
  co_await until([&] { return rw.waiters() == 1; });
  auto r2 = bg::spawn(read_and_record(rw, log, 2));
  co_await until([&] { return rw.waiters() == 2; });
  r.unlock();  // grants the writer, which has not run yet
  EXPECT_TRUE(rw.is_locked_exclusive());
  w.abort();
  EXPECT_THROW(co_await w, bg::cancelled);
  EXPECT_EQ(co_await r2, 2);
  EXPECT_FALSE(rw.is_locked_exclusive());
  EXPECT_EQ(rw.readers(), 0u);
}

BRIGADE_TEST(SharedMutex, CancelSweepOverQueuedWriters) {
  constexpr int n = 5;
  for (int k = 0; k < n; ++k) {
    bg::shared_mutex rw;
    bg::testing::manual_event release;
    release.set();
    std::vector<bg::join_handle<int>> hs;
    auto hold = co_await rw.lock_shared();
    for (int i = 0; i < n; ++i) {
      hs.push_back(bg::spawn(write_and_hold(rw, release, i)));
      const auto want = static_cast<std::size_t>(i) + 1;
      co_await until([&] { return rw.waiters() == want; });
    }
    hs[static_cast<std::size_t>(k)].abort();
    hold.unlock();  // races the abort when k == 0
    for (int i = 0; i < n; ++i) {
      try {
        EXPECT_EQ(co_await hs[static_cast<std::size_t>(i)], i);
      } catch (const bg::cancelled&) {
        EXPECT_EQ(i, k);
      }
    }
    EXPECT_FALSE(rw.is_locked_exclusive());
    EXPECT_EQ(rw.readers(), 0u);
    EXPECT_EQ(rw.waiters(), 0u);
  }
}

BRIGADE_TEST(SharedMutex, ReadersNeverSeeAWriteInProgress) {
  bg::shared_mutex rw;
  long value = 0;
  std::atomic<int> bad{0};
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < 6; ++t) hs.push_back(bg::spawn(mixed_worker(rw, value, bad, 50, t % 3 == 0)));
  for (auto& h : hs) co_await h;
  EXPECT_EQ(value, 2 * 50);
  EXPECT_EQ(bad.load(), 0);
}

BRIGADE_TEST(SharedMutex, PlainThreadsMixWithTasks) {
  bg::shared_mutex rw;
  long value = 0;
  std::atomic<int> bad{0};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      auto g = rw.blocking_lock();
      ++value;
    }
  });
  std::thread reader([&] {
    for (int i = 0; i < 200; ++i) {
      auto g = rw.blocking_lock_shared();
      const long v = value;
      std::this_thread::yield();
      if (value != v) bad.fetch_add(1);
    }
  });
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < 2; ++t) hs.push_back(bg::spawn(mixed_worker(rw, value, bad, 50, t == 0)));
  for (auto& h : hs) co_await h;
  writer.join();
  reader.join();
  EXPECT_EQ(value, 250);
  EXPECT_EQ(bad.load(), 0);
}

BRIGADE_TEST(SharedMutex, BlockingFormsInsideARuntimeThrow) {
  bg::shared_mutex rw;
  EXPECT_THROW((void)rw.blocking_lock(), std::logic_error);
  EXPECT_THROW((void)rw.blocking_lock_shared(), std::logic_error);
  EXPECT_EQ(rw.readers(), 0u);
  co_return;
}

TEST(SharedMutex, ShutdownWithQueuedWaitersLeavesItFree) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    bg::shared_mutex rw;
    bg::testing::manual_event never;
    std::vector<std::string> log;
    {
      bg::runtime rt{bg::testing::options_for(f)};
      // The reader is spawned once the writers queued: on multi_thread the
      // spawn order is not the run order, and a reader that ran first would
      // finish and never be a waiter.
      for (int i = 0; i < 3; ++i) rt.spawn(write_and_hold(rw, never, i)).detach();
      rt.block_on(until([&] { return rw.waiters() == 2; }));
      rt.spawn(read_and_record(rw, log, 9)).detach();
      rt.block_on(until([&] { return rw.waiters() == 3; }));
      rt.shutdown();
    }
    EXPECT_FALSE(rw.is_locked_exclusive());
    EXPECT_EQ(rw.readers(), 0u);
    EXPECT_EQ(rw.waiters(), 0u);
  });
}
