// Start latency of threads and tasks (see start_latency.hpp).

#include "start_latency.hpp"

#include "measure.hpp"

#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace brigade::app {

namespace {

/// Starts done before the measured ones (page faults, first allocations,
/// the frame cache), not counted.
constexpr std::size_t warmup_starts = 16;

latency_figures summarize(std::vector<std::int64_t> samples) {
  latency_figures f;
  f.samples = samples.size();
  if (samples.empty()) return f;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    // Nearest rank: the smallest sample with at least q of them at or below it.
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return static_cast<double>(samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1]);
  };
  f.p50_ns = at(0.50);
  f.p99_ns = at(0.99);
  return f;
}

task<> note_start(std::int64_t& started_ns) {
  started_ns = wall_now_ns();
  co_return;
}

task<std::vector<std::int64_t>> spawn_one_at_a_time(std::size_t n) {
  std::vector<std::int64_t> samples;
  samples.reserve(n);
  for (std::size_t i = 0; i < warmup_starts + n; ++i) {
    std::int64_t started = 0;
    const std::int64_t called = wall_now_ns();
    join_handle<void> h = spawn(note_start(started), "start");
    co_await h;
    if (i >= warmup_starts) samples.push_back(started - called);
  }
  co_return samples;
}

}  // namespace

latency_figures thread_start_latency(std::size_t n) {
  std::vector<std::int64_t> samples;
  samples.reserve(n);
  for (std::size_t i = 0; i < warmup_starts + n; ++i) {
    std::int64_t started = 0;
    const std::int64_t called = wall_now_ns();
    std::thread t([&started] { started = wall_now_ns(); });
    t.join();
    if (i >= warmup_starts) samples.push_back(started - called);
  }
  return summarize(std::move(samples));
}

latency_figures task_start_latency(flavor f, std::size_t workers, std::size_t n) {
  runtime_options options;
  options.flavor = f;
  if (f == flavor::multi_thread) options.worker_threads = workers;
  runtime rt{std::move(options)};
  return summarize(rt.block_on(spawn_one_at_a_time(n)));
}

}  // namespace brigade::app
