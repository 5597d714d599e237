// Stress tests of brigade/sync (label stress): tasks on 1, 2 and 4 workers
// and plain threads hammer each primitive at once, mixing async and
// blocking_ calls, while some tasks are aborted mid-wait. Bounded (about
// 10^5 operations per primitive over the three worker counts); run under
// TSan and ASan+UBSan. Each test checks the primitive's invariant all along
// and that it ends unlocked / with every permit / with no waiter.
#include <brigade/sync/barrier.hpp>
#include <brigade/sync/latch.hpp>
#include <brigade/sync/mutex.hpp>
#include <brigade/sync/notify.hpp>
#include <brigade/sync/semaphore.hpp>
#include <brigade/sync/shared_mutex.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace bg = brigade;

namespace {

class SyncStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime_options options() const {
    return bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = GetParam()};
  }
};

INSTANTIATE_TEST_SUITE_P(Workers, SyncStress, ::testing::Values(1, 2, 4),
                         [](const auto& param_info) {
                           return std::to_string(param_info.param) + "workers";
                         });

constexpr int task_count = 6;
constexpr int task_ops = 5000;
constexpr int thread_count = 2;
constexpr int thread_ops = 600;  // OS wake-ups are slow on a loaded box
constexpr int victim_count = 20;

/// Spawns `victim_count` tasks made by `make`, aborts each after a few
/// turns (most while they wait), and awaits them all (cancelled or not).
template <class Make>
bg::task<> victims(Make make) {
  for (int i = 0; i < victim_count; ++i) {
    auto h = bg::spawn(make());
    for (int t = 0; t < i % 4; ++t) co_await bg::yield_now();
    h.abort();
    try {
      co_await h;
    } catch (const bg::cancelled&) {
    }
  }
}

// ---- mutex ------------------------------------------------------------------

struct mutex_case {
  bg::mutex m;
  long counter = 0;  // guarded by m
  std::atomic<long> ops{0};
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};

  void critical() {
    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
    ++counter;
    ops.fetch_add(1, std::memory_order_relaxed);
    inside.fetch_sub(1);
  }
};

bg::task<> mutex_worker(mutex_case& c, int n) {
  for (int i = 0; i < n; ++i) {
    auto g = co_await c.m.lock();
    c.critical();
    if (i % 16 == 0) co_await bg::yield_now();  // hold it across a suspension
  }
}

bg::task<> mutex_driver(mutex_case& c) {
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < task_count; ++t) hs.push_back(bg::spawn(mutex_worker(c, task_ops)));
  co_await victims([&c] { return mutex_worker(c, 1000); });
  for (auto& h : hs) co_await h;
}

TEST_P(SyncStress, Mutex) {
  mutex_case c;
  {
    bg::runtime rt{options()};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
      threads.emplace_back([&c] {
        for (int i = 0; i < thread_ops; ++i) {
          if (auto g = c.m.try_lock(); g && i % 2 == 0) {
            c.critical();
            continue;
          }
          auto g = c.m.blocking_lock();
          c.critical();
        }
      });
    }
    rt.block_on(mutex_driver(c));
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(c.overlaps.load(), 0);
  EXPECT_EQ(c.counter, c.ops.load());
  EXPECT_GE(c.counter, long{task_count} * task_ops + long{thread_count} * thread_ops);
  EXPECT_FALSE(c.m.is_locked());
  EXPECT_EQ(c.m.waiters(), 0u);
}

// ---- semaphore --------------------------------------------------------------

struct semaphore_case {
  static constexpr std::size_t permits = 3;
  bg::semaphore s{permits};
  std::atomic<int> in_use{0};
  std::atomic<int> over{0};
  std::atomic<long> ops{0};

  void use(std::size_t n) {
    if (in_use.fetch_add(static_cast<int>(n)) + static_cast<int>(n) > static_cast<int>(permits)) {
      over.fetch_add(1);
    }
    ops.fetch_add(1, std::memory_order_relaxed);
    in_use.fetch_sub(static_cast<int>(n));
  }
};

bg::task<> semaphore_worker(semaphore_case& c, int n, std::size_t seed) {
  for (int i = 0; i < n; ++i) {
    const std::size_t want = 1 + (seed + static_cast<std::size_t>(i)) % semaphore_case::permits;
    auto p = co_await c.s.acquire(want);
    c.use(want);
    if (i % 8 == 0) co_await bg::yield_now();
  }
}

bg::task<> semaphore_driver(semaphore_case& c) {
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < task_count; ++t) {
    hs.push_back(bg::spawn(semaphore_worker(c, task_ops, static_cast<std::size_t>(t))));
  }
  co_await victims([&c] { return semaphore_worker(c, 1000, 2); });
  for (auto& h : hs) co_await h;
}

TEST_P(SyncStress, Semaphore) {
  semaphore_case c;
  {
    bg::runtime rt{options()};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
      threads.emplace_back([&c, t] {
        for (int i = 0; i < thread_ops; ++i) {
          const std::size_t want = 1 + static_cast<std::size_t>(i + t) % 2;
          // Half the time try first: a sleeping thread that is handed
          // permits holds up the FIFO queue until the OS runs it.
          if (auto p = c.s.try_acquire(want); p && i % 2 == 0) {
            c.use(want);
            continue;
          }
          auto p = c.s.blocking_acquire(want);
          c.use(want);
        }
      });
    }
    rt.block_on(semaphore_driver(c));
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(c.over.load(), 0);
  EXPECT_GE(c.ops.load(), long{task_count} * task_ops + long{thread_count} * thread_ops);
  EXPECT_EQ(c.s.available_permits(), semaphore_case::permits) << "a permit was lost";
  EXPECT_EQ(c.s.waiters(), 0u);
}

// ---- shared_mutex -----------------------------------------------------------

struct rw_case {
  bg::shared_mutex rw;
  std::atomic<int> readers{0};
  std::atomic<int> writers{0};
  std::atomic<int> bad{0};
  std::atomic<long> ops{0};

  void read() {
    readers.fetch_add(1);
    if (writers.load() != 0) bad.fetch_add(1);
    readers.fetch_sub(1);
    ops.fetch_add(1, std::memory_order_relaxed);
  }
  void write() {
    if (writers.fetch_add(1) != 0 || readers.load() != 0) bad.fetch_add(1);
    writers.fetch_sub(1);
    ops.fetch_add(1, std::memory_order_relaxed);
  }
};

bg::task<> rw_worker(rw_case& c, int n, int writer_every) {
  for (int i = 0; i < n; ++i) {
    if (i % writer_every == 0) {
      auto g = co_await c.rw.lock();
      c.write();
    } else {
      auto g = co_await c.rw.lock_shared();
      c.read();
      if (i % 8 == 1) co_await bg::yield_now();
    }
  }
}

bg::task<> rw_driver(rw_case& c) {
  std::vector<bg::join_handle<void>> hs;
  for (int t = 0; t < task_count; ++t) hs.push_back(bg::spawn(rw_worker(c, task_ops, 3 + t)));
  co_await victims([&c] { return rw_worker(c, 1000, 2); });
  for (auto& h : hs) co_await h;
}

TEST_P(SyncStress, SharedMutex) {
  rw_case c;
  {
    bg::runtime rt{options()};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
      threads.emplace_back([&c, t] {
        for (int i = 0; i < thread_ops; ++i) {
          if ((i + t) % 4 == 0) {
            auto g = c.rw.blocking_lock();
            c.write();
          } else {
            auto g = c.rw.blocking_lock_shared();
            c.read();
          }
        }
      });
    }
    rt.block_on(rw_driver(c));
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(c.bad.load(), 0);
  EXPECT_FALSE(c.rw.is_locked_exclusive());
  EXPECT_EQ(c.rw.readers(), 0u);
  EXPECT_EQ(c.rw.waiters(), 0u);
}

// ---- notify -----------------------------------------------------------------

/// A counter published with notify_one: the consumer never misses the last
/// increment (a lost wake-up hangs, and the ctest timeout fails the test).
struct notify_case {
  bg::notify n;
  std::atomic<long> produced{0};
};

bg::task<long> notify_consumer(notify_case& c, long total) {
  long seen = 0;
  while (seen < total) {
    const long now = c.produced.load();
    if (now > seen) {
      seen = now;
      continue;
    }
    co_await c.n.notified();
  }
  co_return seen;
}

bg::task<> notify_producer(notify_case& c, int n) {
  for (int i = 0; i < n; ++i) {
    c.produced.fetch_add(1);
    c.n.notify_one();
    if (i % 4 == 0) co_await bg::yield_now();
  }
}

TEST_P(SyncStress, Notify) {
  constexpr int producers = 3;
  constexpr int per = 4000;
  notify_case to_task;
  notify_case to_thread;
  {
    bg::runtime rt{options()};
    std::thread producer([&to_task] {
      for (int i = 0; i < per; ++i) {
        to_task.produced.fetch_add(1);
        to_task.n.notify_one();
      }
    });
    std::thread consumer([&to_thread] {
      long seen = 0;
      while (seen < long{producers} * per) {
        const long now = to_thread.produced.load();
        if (now > seen) {
          seen = now;
          continue;
        }
        to_thread.n.blocking_notified();
      }
    });
    auto body = [](notify_case& a, notify_case& b) -> bg::task<long> {
      std::vector<bg::join_handle<void>> hs;
      for (int p = 0; p < producers; ++p) hs.push_back(bg::spawn(notify_producer(a, per)));
      for (int p = 0; p < producers; ++p) hs.push_back(bg::spawn(notify_producer(b, per)));
      const long got = co_await notify_consumer(a, long{producers + 1} * per);
      for (auto& h : hs) co_await h;
      co_return got;
    };
    EXPECT_EQ(rt.block_on(body(to_task, to_thread)), long{producers + 1} * per);
    producer.join();
    consumer.join();
  }
  EXPECT_EQ(to_task.n.waiters(), 0u);
  EXPECT_EQ(to_thread.n.waiters(), 0u);
}

// ---- barrier and latch ------------------------------------------------------

bg::task<> barrier_rounds(bg::barrier& b, std::atomic<int>& leaders, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    if ((co_await b.arrive_and_wait()).is_leader()) leaders.fetch_add(1);
  }
}

TEST_P(SyncStress, BarrierAndLatch) {
  constexpr int rounds = 400;
  constexpr int task_parties = 4;
  constexpr int thread_parties = 2;
  bg::barrier b{task_parties + thread_parties};
  std::atomic<int> leaders{0};
  bg::latch done{task_parties + thread_parties};
  {
    bg::runtime rt{options()};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_parties; ++t) {
      threads.emplace_back([&] {
        for (int r = 0; r < rounds; ++r) {
          if (b.blocking_arrive_and_wait().is_leader()) leaders.fetch_add(1);
        }
        done.count_down();
        done.blocking_wait();
      });
    }
    auto body = [](bg::barrier& bar, std::atomic<int>& lead, bg::latch& fin) -> bg::task<> {
      std::vector<bg::join_handle<void>> hs;
      for (int t = 0; t < task_parties; ++t)
        hs.push_back(bg::spawn(barrier_rounds(bar, lead, rounds)));
      for (auto& h : hs) {
        co_await h;
        fin.count_down();
      }
      co_await fin.wait();
    };
    rt.block_on(body(b, leaders, done));
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(leaders.load(), rounds) << "exactly one leader per phase";
  EXPECT_EQ(b.waiters(), 0u);
  EXPECT_TRUE(done.try_wait());
}

}  // namespace
