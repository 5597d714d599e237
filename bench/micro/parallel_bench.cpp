// Micro benchmarks of CPU-bound work (include/brigade/parallel.hpp).
// PERFORMANCE.md rows: "fib(30) with a spawn at every level, 2 workers"
// (oneTBB 81 ms, Tokio 976 ms) and issue 8's "parallel_reduce of 10^8 int64
// within 1.1x of a hand-written two-thread loop".
//
//   BM_fib_spawn/30          fork-join: spawn fib(n-1), await fib(n-2) inline,
//                            join; a spawn at every level (1.3 M spawns)
//   BM_reduce_brigade        parallel_reduce over 10^8 int64 (800 MB), 2 workers
//   BM_reduce_two_threads    the same sum with two std::threads, each half
//   BM_reduce_one_thread     the sequential loop (memory-bandwidth reference)
//   BM_reduce_ab             both alternating; counter ratio = brigade / two threads
//   BM_parallel_for_small    a parallel_for of 1,000 trivial calls (overhead)

#include <brigade/parallel.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

namespace bg = brigade;

namespace {

constexpr std::size_t workers = 2;

bg::runtime_options two_workers() {
  return bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = workers};
}

bg::task<std::uint64_t> fib(int n) {
  if (n < 2) co_return static_cast<std::uint64_t>(n);
  bg::join_handle<std::uint64_t> left = bg::spawn(fib(n - 1));
  const std::uint64_t right = co_await fib(n - 2);
  co_return co_await left + right;
}

void BM_fib_spawn(benchmark::State& state) {
  bg::runtime rt{two_workers()};
  const int n = static_cast<int>(state.range(0));
  rt.block_on(fib(n));  // warm the frame caches
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(fib(n)));
}
BENCHMARK(BM_fib_spawn)->Arg(25)->Arg(30)->Unit(benchmark::kMillisecond)->UseRealTime();

constexpr std::size_t reduce_n = 100'000'000;

const std::vector<std::int64_t>& reduce_input() {
  static const std::vector<std::int64_t> v = [] {
    std::vector<std::int64_t> out(reduce_n);
    std::iota(out.begin(), out.end(), std::int64_t{0});
    return out;
  }();
  return v;
}

void BM_reduce_brigade(benchmark::State& state) {
  const auto& v = reduce_input();
  bg::runtime rt{two_workers()};
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        bg::parallel_reduce(rt, v.begin(), v.end(), std::int64_t{0}, std::plus<>{}));
  }
}
BENCHMARK(BM_reduce_brigade)->Unit(benchmark::kMillisecond)->UseRealTime();

std::int64_t sum_range(const std::int64_t* first, const std::int64_t* last) {
  std::int64_t s = 0;
  for (; first != last; ++first) s += *first;
  return s;
}

void BM_reduce_two_threads(benchmark::State& state) {
  const auto& v = reduce_input();
  for (auto _ : state) {
    std::int64_t a = 0;
    const std::int64_t* mid = v.data() + v.size() / 2;
    std::thread t([&] { a = sum_range(v.data(), mid); });
    const std::int64_t b = sum_range(mid, v.data() + v.size());
    t.join();
    benchmark::DoNotOptimize(a + b);
  }
}
BENCHMARK(BM_reduce_two_threads)->Unit(benchmark::kMillisecond)->UseRealTime();

/// Both in each iteration, alternating, so that a noisy machine hits both
/// alike: counters are the medians and their ratio (the target: <= 1.1).
void BM_reduce_ab(benchmark::State& state) {
  const auto& v = reduce_input();
  bg::runtime rt{two_workers()};
  std::vector<double> ours, theirs;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(
        bg::parallel_reduce(rt, v.begin(), v.end(), std::int64_t{0}, std::plus<>{}));
    const auto t1 = std::chrono::steady_clock::now();
    std::int64_t a = 0;
    const std::int64_t* mid = v.data() + v.size() / 2;
    std::thread t([&] { a = sum_range(v.data(), mid); });
    const std::int64_t b = sum_range(mid, v.data() + v.size());
    t.join();
    benchmark::DoNotOptimize(a + b);
    const auto t2 = std::chrono::steady_clock::now();
    ours.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    theirs.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  const double m_ours = ours[ours.size() / 2];
  const double m_theirs = theirs[theirs.size() / 2];
  state.counters["brigade_ms"] = m_ours;
  state.counters["two_threads_ms"] = m_theirs;
  state.counters["ratio"] = m_ours / m_theirs;
}
BENCHMARK(BM_reduce_ab)->Iterations(15)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_reduce_one_thread(benchmark::State& state) {
  const auto& v = reduce_input();
  for (auto _ : state) benchmark::DoNotOptimize(sum_range(v.data(), v.data() + v.size()));
}
BENCHMARK(BM_reduce_one_thread)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_parallel_for_small(benchmark::State& state) {
  bg::runtime rt{two_workers()};
  std::vector<int> out(1000);
  for (auto _ : state) {
    bg::parallel_for(rt, std::size_t{0}, out.size(),
                     [&](std::size_t i) { out[i] = static_cast<int>(i); });
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_parallel_for_small)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
