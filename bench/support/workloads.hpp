#pragma once
// The workloads behind "tasks are cheap, threads are not" (PERFORMANCE.md),
// shared by the micro benchmarks (bench/micro) and `brigade spawn-cost`
// (apps/brigade), so that both report the same measurement.
//
//   timed_spawn_join      spawn N empty tasks, then join each: ns for the lot
//   measure_idle_tasks    bytes per task suspended (parked, or joining)
//   measure_blocked_threads  bytes per OS thread blocked on a latch
//   thread_create_join_ns ns per std::thread create + join
//
// Memory is measured on a fresh thread: the frame allocator caches freed
// blocks per thread, and a fresh thread's cache is empty, so every frame of
// the measurement comes from malloc and shows in the heap figure. RSS is only
// honest in a fresh process (pages freed earlier are reused without faults):
// callers run these in a child process.

#include "memory_probe.hpp"
#include "park_gate.hpp"

#include <brigade/detail/frame_allocator.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace brigade::bench {

using steady = std::chrono::steady_clock;
using handle_vector = std::vector<join_handle<void>>;

inline std::int64_t elapsed_ns(steady::time_point from, steady::time_point to) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
}

inline task<> empty_task() { co_return; }

/// Spawns `n` empty tasks, keeping their handles, then awaits each handle.
/// Returns the elapsed ns. The handle vector is sized (and so its pages
/// faulted in) before the clock starts: the figure is the runtime's cost.
inline task<std::int64_t> timed_spawn_join(std::size_t n, handle_vector& handles) {
  handles.resize(n);
  const steady::time_point start = steady::now();
  for (std::size_t i = 0; i < n; ++i) handles[i] = spawn(empty_task());
  for (join_handle<void>& h : handles) co_await h;
  co_return elapsed_ns(start, steady::now());
}

/// A chain of `n` nested awaits (one frame, one resume and one transfer back
/// per level); returns n.
inline task<std::size_t> chain_depth(std::size_t n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await chain_depth(n - 1);
}

/// A runtime of the given flavor, or nullptr (with the reason in `why`) when
/// this build cannot construct it (std::invalid_argument).
inline std::unique_ptr<runtime> try_make_runtime(brigade::flavor f, std::size_t workers,
                                                 std::string& why) {
  try {
    return std::make_unique<runtime>(runtime_options{.flavor = f, .worker_threads = workers});
  } catch (const std::invalid_argument& e) {
    why = e.what();
    return nullptr;
  }
}

inline const char* flavor_name(brigade::flavor f) noexcept {
  return f == brigade::flavor::current_thread ? "current_thread" : "multi_thread";
}

// ---- idle tasks -----------------------------------------------------------

enum class idle_kind : std::uint8_t {
  parked,   ///< each task awaits a park_gate (a notify-like wait)
  joining,  ///< a chain: each task awaits the join_handle of the next one
};

struct idle_result {
  std::size_t tasks = 0;
  memory_per_item per_task;
  std::uint32_t frame_size = 0;  ///< the coroutine frame, without the header
  std::size_t block_size = 0;    ///< header + frame, rounded to the size class
  std::int64_t live_frames = 0;  ///< frames alive while the tasks wait
};

inline task<> parked_task(park_gate& gate) { co_await gate.wait(); }

inline task<> join_link(std::size_t remaining, park_gate& gate) {
  if (remaining == 0) {
    co_await gate.wait();
    co_return;
  }
  co_await spawn(join_link(remaining - 1, gate));
}

inline task<idle_result> idle_tasks_body(idle_kind kind, std::size_t n) {
  park_gate gate(n);
  handle_vector handles;
  handles.resize(kind == idle_kind::parked ? n : 1);
  const std::int64_t frames_before = detail::live_frames();
  const memory_snapshot before = take_snapshot();
  if (kind == idle_kind::parked) {
    for (std::size_t i = 0; i < n; ++i) handles[i] = spawn(parked_task(gate));
    while (gate.parked() < n) co_await yield_now();
  } else {
    handles[0] = spawn(join_link(n - 1, gate));
    // The chain grows by one link per turn of the run queue.
    while (gate.parked() < 1) co_await yield_now();
  }
  const memory_snapshot after = take_snapshot();
  idle_result r;
  r.tasks = n;
  r.per_task = per_item(before, after, n);
  r.live_frames = detail::live_frames() - frames_before;
  r.frame_size = handles[0].header()->frame_size_;
  const std::size_t bytes = r.frame_size + detail::task_header::prefix_size;
  const std::size_t cls = detail::frame_cache::class_of(bytes);
  r.block_size = cls < detail::frame_cache::classes ? detail::frame_cache::class_bytes(cls) : bytes;
  gate.open();
  for (join_handle<void>& h : handles) co_await h;
  co_return r;
}

/// Bytes per idle task: `n` tasks suspended at once on a current_thread
/// runtime, measured on a fresh thread (empty frame cache).
inline idle_result measure_idle_tasks(idle_kind kind, std::size_t n) {
  if (n == 0) throw std::invalid_argument("measure_idle_tasks: n must be positive");
  idle_result result;
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      runtime rt{runtime_options{.flavor = brigade::flavor::current_thread}};
      result = rt.block_on(idle_tasks_body(kind, n));
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
  return result;
}

// ---- OS threads -----------------------------------------------------------

struct blocked_threads_result {
  std::size_t threads = 0;
  memory_per_item per_thread;
  std::size_t stack_reserve = 0;  ///< default pthread stack size (virtual)
};

inline std::size_t default_stack_size() noexcept {
  pthread_attr_t attr;
  std::size_t size = 0;
  if (pthread_getattr_default_np(&attr) == 0) {
    pthread_attr_getstacksize(&attr, &size);
    pthread_attr_destroy(&attr);
  }
  return size;
}

/// Bytes per OS thread: `m` std::threads alive at once, each blocked on a
/// std::latch (a futex wait).
inline blocked_threads_result measure_blocked_threads(std::size_t m) {
  std::vector<std::thread> threads;
  threads.reserve(m);
  std::latch started(static_cast<std::ptrdiff_t>(m));
  std::latch release(1);
  const memory_snapshot before = take_snapshot();
  try {
    for (std::size_t i = 0; i < m; ++i) {
      threads.emplace_back([&] {
        started.count_down();
        release.wait();
      });
    }
  } catch (...) {
    // Could not start them all (thread limit): let the started ones go.
    for (std::size_t i = threads.size(); i < m; ++i) started.count_down();
    release.count_down();
    for (std::thread& t : threads) t.join();
    throw;
  }
  started.wait();
  const memory_snapshot after = take_snapshot();
  release.count_down();
  for (std::thread& t : threads) t.join();
  blocked_threads_result r;
  r.threads = m;
  r.per_thread = per_item(before, after, m);
  r.stack_reserve = default_stack_size();
  return r;
}

/// Mean ns per std::thread create + join of an empty function, over `m`.
inline double thread_create_join_ns(std::size_t m) {
  const steady::time_point start = steady::now();
  for (std::size_t i = 0; i < m; ++i) {
    std::thread t([] {});
    t.join();
  }
  return static_cast<double>(elapsed_ns(start, steady::now())) / static_cast<double>(m);
}

}  // namespace brigade::bench
