// The four models of `brigade compare` (see compare_workloads.hpp).

#include "compare_workloads.hpp"

#include "loopback_server.hpp"

#include <brigade/join_handle.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/trace.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace brigade::app {

namespace {

constexpr std::size_t max_timeline_events = 8000;

std::uint64_t hash_part(const load_plan& p, std::size_t i) {
  return p.hash_rounds == 0 ? 0 : hash_job(p.hash_rounds, i + 1);
}

bool is_request(const load_plan& p, std::size_t i) { return i < p.requests; }

// ---- async models -------------------------------------------------------------

task<std::uint64_t> async_request(net::address server, std::uint64_t request) {
  net::tcp_stream s = co_await net::tcp_stream::connect(server);
  s.set_nodelay(true);
  const net::const_buffer out(&request, sizeof request);
  co_await s.write_all(out);
  std::uint64_t reply = 0;
  const net::mutable_buffer in(&reply, sizeof reply);
  co_await s.read_exact(in);
  co_return reply;
}

task<std::uint64_t> async_job(const load_plan& p, net::address server, std::size_t i) {
  std::uint64_t h = 0;
  if (is_request(p, i)) {
    h = co_await async_request(server, i + 1);
  } else if (p.wait.count() > 0) {
    co_await brigade::sleep(p.wait);
  }
  if (p.hash_rounds == 0) co_return h;
  const trace_span span{"hash"};
  co_return h ^ hash_part(p, i);
}

task<std::uint64_t> async_batch(const load_plan& p, net::address server, run_meter& meter) {
  std::vector<join_handle<std::uint64_t>> handles;
  handles.reserve(p.jobs);
  for (std::size_t i = 0; i < p.jobs; ++i) handles.push_back(spawn(async_job(p, server, i), "job"));
  meter.note_threads();
  // Every job is awaited, even after one failed (e.g. out of descriptors):
  // the first failure is the run's, and none is left to report on its own.
  std::uint64_t sum = 0;
  std::exception_ptr first_error;
  for (join_handle<std::uint64_t>& h : handles) {
    try {
      sum ^= co_await h;
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
  co_return sum;
}

load_run run_async(const load_plan& p, const net::address& server, flavor f,
                   const std::string& title) {
  run_meter meter;
  runtime_options options;
  options.flavor = f;
  options.worker_threads = p.workers;
  options.trace_in_memory = true;
  options.trace_path = p.trace_path;
  runtime rt{std::move(options)};
  load_run r;
  r.checksum = rt.block_on(async_batch(p, server, meter));
  r.figures = meter.finish();
  // After shutdown: every worker has left the runtime and so flushed its
  // staged events (a snapshot taken before misses up to a batch per worker).
  rt.shutdown();
  r.trace = from_recording(title, rt.trace(), max_timeline_events);
  return r;
}

// ---- thread models ---------------------------------------------------------------

/// One job on a plain thread, recorded like a task turn (work) and a park
/// (the thread blocked in sleep_for, or in a blocking socket call).
std::uint64_t traced_job(const load_plan& p, const net::address& server, std::size_t i,
                         manual_trace& trace, std::uint32_t lane) {
  std::uint64_t h = 0;
  if (is_request(p, i)) {
    const std::int64_t start = trace.now_ns();
    h = blocking_request(server, i + 1);
    trace.span(trace_event::kind::park, lane, 0, start, "blocking request");
  } else if (p.wait.count() > 0) {
    const std::int64_t start = trace.now_ns();
    std::this_thread::sleep_for(p.wait);
    trace.span(trace_event::kind::park, lane, 0, start, "sleep_for");
  }
  if (p.hash_rounds == 0) return h;
  const std::int64_t start = trace.now_ns();
  h ^= hash_part(p, i);
  trace.span(trace_event::kind::run, lane, i + 1, start, "hash");
  return h;
}

load_run run_synchronous(const load_plan& p, const net::address& server, const std::string& title) {
  run_meter meter;
  manual_trace trace;
  const std::uint32_t lane = trace.add_lane("main thread");
  load_run r;
  for (std::size_t i = 0; i < p.jobs; ++i) r.checksum ^= traced_job(p, server, i, trace, lane);
  r.figures = meter.finish();
  r.trace = trace.take(title, max_timeline_events);
  return r;
}

load_run run_thread_per_job(const load_plan& p, const net::address& server,
                            const std::string& title) {
  run_meter meter;
  manual_trace trace;
  std::vector<std::uint32_t> lanes;
  lanes.reserve(p.jobs);
  for (std::size_t i = 0; i < p.jobs; ++i)
    lanes.push_back(trace.add_lane("thread " + std::to_string(i + 1)));
  std::atomic<std::uint64_t> sum{0};
  std::atomic<std::size_t> live{0};
  std::atomic<std::size_t> most{0};
  std::mutex error_mutex;
  std::exception_ptr error;  // the first job that threw
  std::vector<std::thread> threads;
  threads.reserve(p.jobs);
  for (std::size_t i = 0; i < p.jobs; ++i) {
    threads.emplace_back([&, i] {
      // relaxed: counters read after join(), which synchronizes.
      const std::size_t now = live.fetch_add(1, std::memory_order_relaxed) + 1;
      std::size_t seen = most.load(std::memory_order_relaxed);
      while (seen < now && !most.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
      }
      std::uint64_t h = 0;
      try {
        h = traced_job(p, server, i, trace, lanes[i]);
      } catch (...) {
        const std::scoped_lock lock{error_mutex};
        if (!error) error = std::current_exception();
      }
      sum.fetch_xor(h, std::memory_order_relaxed);
      live.fetch_sub(1, std::memory_order_relaxed);
    });
  }
  for (std::thread& t : threads) t.join();
  if (error) std::rethrow_exception(error);
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
  // Before the run's meter starts: its thread is not one of the run's.
  std::optional<loopback_server> server;
  if (plan.requests > 0) server.emplace(plan.wait);
  const net::address at = server ? server->address() : net::address{};
  switch (model) {
    case exec_model::synchronous:
      return run_synchronous(plan, at, title);
    case exec_model::async_one_thread:
      return run_async(plan, at, flavor::current_thread, title);
    case exec_model::thread_per_job:
      return run_thread_per_job(plan, at, title);
    case exec_model::async_pool:
      return run_async(plan, at, flavor::multi_thread, title);
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
      return "I/O-bound (timer waits and loopback requests)";
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
