// The four models of `brigade compare` (see compare_workloads.hpp).

#include "compare_workloads.hpp"

#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/trace.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace brigade::app {

namespace {

constexpr std::size_t max_timeline_events = 8000;

std::uint64_t hash_part(const load_plan& p, std::size_t i) {
  return p.hash_rounds == 0 ? 0 : hash_job(p.hash_rounds, i + 1);
}

// ---- async models -------------------------------------------------------------

task<std::uint64_t> async_job(const load_plan& p, std::size_t i) {
  if (p.wait.count() > 0) co_await brigade::sleep(p.wait);
  if (p.hash_rounds == 0) co_return 0;
  const trace_span span{"hash"};
  co_return hash_part(p, i);
}

task<std::uint64_t> async_batch(const load_plan& p, run_meter& meter) {
  std::vector<join_handle<std::uint64_t>> handles;
  handles.reserve(p.jobs);
  for (std::size_t i = 0; i < p.jobs; ++i) handles.push_back(spawn(async_job(p, i), "job"));
  meter.note_threads();
  std::uint64_t sum = 0;
  for (join_handle<std::uint64_t>& h : handles) sum ^= co_await h;
  co_return sum;
}

load_run run_async(const load_plan& p, flavor f, const std::string& title) {
  run_meter meter;
  runtime_options options;
  options.flavor = f;
  options.worker_threads = p.workers;
  options.trace_in_memory = true;
  runtime rt{std::move(options)};
  load_run r;
  r.checksum = rt.block_on(async_batch(p, meter));
  r.figures = meter.finish();
  // After shutdown: every worker has left the runtime and so flushed its
  // staged events (a snapshot taken before misses up to a batch per worker).
  rt.shutdown();
  r.trace = from_recording(title, rt.trace(), max_timeline_events);
  return r;
}

// ---- thread models ---------------------------------------------------------------

/// One job on a plain thread, recorded like a task turn (work) and a park
/// (the thread blocked in sleep_for).
std::uint64_t traced_job(const load_plan& p, std::size_t i, manual_trace& trace,
                         std::uint32_t lane) {
  if (p.wait.count() > 0) {
    const std::int64_t start = trace.now_ns();
    std::this_thread::sleep_for(p.wait);
    trace.span(trace_event::kind::park, lane, 0, start, "sleep_for");
  }
  if (p.hash_rounds == 0) return 0;
  const std::int64_t start = trace.now_ns();
  const std::uint64_t h = hash_part(p, i);
  trace.span(trace_event::kind::run, lane, i + 1, start, "hash");
  return h;
}

load_run run_synchronous(const load_plan& p, const std::string& title) {
  run_meter meter;
  manual_trace trace;
  const std::uint32_t lane = trace.add_lane("main thread");
  load_run r;
  for (std::size_t i = 0; i < p.jobs; ++i) r.checksum ^= traced_job(p, i, trace, lane);
  r.figures = meter.finish();
  r.trace = trace.take(title, max_timeline_events);
  return r;
}

load_run run_thread_per_job(const load_plan& p, const std::string& title) {
  run_meter meter;
  manual_trace trace;
  std::vector<std::uint32_t> lanes;
  lanes.reserve(p.jobs);
  for (std::size_t i = 0; i < p.jobs; ++i)
    lanes.push_back(trace.add_lane("thread " + std::to_string(i + 1)));
  std::atomic<std::uint64_t> sum{0};
  std::atomic<std::size_t> live{0};
  std::atomic<std::size_t> most{0};
  std::vector<std::thread> threads;
  threads.reserve(p.jobs);
  for (std::size_t i = 0; i < p.jobs; ++i) {
    threads.emplace_back([&, i] {
      // relaxed: counters read after join(), which synchronizes.
      const std::size_t now = live.fetch_add(1, std::memory_order_relaxed) + 1;
      std::size_t seen = most.load(std::memory_order_relaxed);
      while (seen < now && !most.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
      }
      sum.fetch_xor(traced_job(p, i, trace, lanes[i]), std::memory_order_relaxed);
      live.fetch_sub(1, std::memory_order_relaxed);
    });
  }
  for (std::thread& t : threads) t.join();
  load_run r;
  r.checksum = sum.load(std::memory_order_relaxed);
  r.figures = meter.finish();
  // The main thread plus the most job threads alive at once.
  r.figures.threads = static_cast<double>(most.load(std::memory_order_relaxed) + 1);
  r.trace = trace.take(title, max_timeline_events);
  return r;
}

}  // namespace

load_run run_load(const load_plan& plan, exec_model model) {
  const std::string title = load_name(plan.kind) + " — " + exec_model_name(model, plan.workers);
  switch (model) {
    case exec_model::synchronous:
      return run_synchronous(plan, title);
    case exec_model::async_one_thread:
      return run_async(plan, flavor::current_thread, title);
    case exec_model::thread_per_job:
      return run_thread_per_job(plan, title);
    case exec_model::async_pool:
      return run_async(plan, flavor::multi_thread, title);
  }
  return {};
}

std::size_t calibrate_hash_rounds(std::chrono::nanoseconds target) {
  constexpr std::size_t probe = 64;
  std::int64_t best = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::int64_t start = thread_cpu_ns();
    const std::uint64_t h = hash_job(probe, static_cast<std::uint64_t>(attempt));
    asm volatile("" : : "r"(h) : "memory");
    const std::int64_t spent = thread_cpu_ns() - start;
    if (best == 0 || spent < best) best = spent;
  }
  const double per_round = static_cast<double>(std::max<std::int64_t>(best, 1)) / probe;
  return std::max<std::size_t>(
      1, static_cast<std::size_t>(static_cast<double>(target.count()) / per_round));
}

std::string load_name(load_kind k) {
  switch (k) {
    case load_kind::io:
      return "I/O-bound (many waits)";
    case load_kind::cpu:
      return "CPU-bound (hashing)";
    case load_kind::mixed:
      return "mixed (a wait, then hashing)";
  }
  return "?";
}

std::string load_key(load_kind k) {
  switch (k) {
    case load_kind::io:
      return "io";
    case load_kind::cpu:
      return "cpu";
    case load_kind::mixed:
      return "mixed";
  }
  return "?";
}

std::string exec_model_name(exec_model m, std::size_t workers) {
  switch (m) {
    case exec_model::synchronous:
      return "synchronous";
    case exec_model::async_one_thread:
      return "async, one thread";
    case exec_model::thread_per_job:
      return "one OS thread per job";
    case exec_model::async_pool:
      return "async, pool of " + std::to_string(workers);
  }
  return "?";
}

std::string exec_model_key(exec_model m) {
  switch (m) {
    case exec_model::synchronous:
      return "synchronous";
    case exec_model::async_one_thread:
      return "async_one_thread";
    case exec_model::thread_per_job:
      return "thread_per_job";
    case exec_model::async_pool:
      return "async_pool";
  }
  return "?";
}

}  // namespace brigade::app
