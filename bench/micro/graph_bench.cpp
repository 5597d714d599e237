// Micro benchmarks of task_graph, on the shapes of Taskflow's benchmarks
// (benchmarks/{linear_chain,binary_tree,wavefront}): the graph is built
// once, then run repeatedly on a 2-worker multi_thread runtime; each node
// does a trivial amount of work, so the figures are the graph's overhead.
// Counter ns_per_node = wall time per run / nodes.

#include <brigade/graph/task_graph.hpp>
#include <brigade/runtime.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bg = brigade;

namespace {

bg::runtime_options two_workers() {
  return bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 2};
}

void run_graph(benchmark::State& state, bg::task_graph& g, std::size_t nodes) {
  bg::runtime rt{two_workers()};
  g.set_timing(state.range(1) != 0 ? bg::timing_mode::recorded : bg::timing_mode::not_recorded);
  g.run_blocking(rt);  // warm
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) g.run_blocking(rt);
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  state.counters["ns_per_node"] =
      ns / static_cast<double>(state.iterations()) / static_cast<double>(nodes);
  state.counters["nodes"] = static_cast<double>(nodes);
}

/// n nodes, each depending on the previous one.
void BM_graph_linear_chain(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  bg::task_graph g;
  auto cur = g.add("0", [] { return std::uint64_t{0}; });
  for (std::size_t i = 1; i < n; ++i)
    cur = g.add(
        "c", [](std::uint64_t x) { return x + 1; }, cur);
  run_graph(state, g, n);
}
BENCHMARK(BM_graph_linear_chain)
    ->Args({1 << 16, 0})
    ->Args({1 << 16, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// A full binary tree of the given depth: every node feeds two children.
void BM_graph_binary_tree(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  bg::task_graph g;
  std::vector<bg::graph_node<std::uint64_t>> level{g.add("root", [] { return std::uint64_t{1}; })};
  std::size_t nodes = 1;
  for (int d = 1; d < depth; ++d) {
    std::vector<bg::graph_node<std::uint64_t>> next;
    next.reserve(level.size() * 2);
    for (auto& parent : level) {
      next.push_back(g.add(
          "l", [](std::uint64_t x) { return 2 * x; }, parent));
      next.push_back(g.add(
          "r", [](std::uint64_t x) { return 2 * x + 1; }, parent));
    }
    nodes += next.size();
    level = std::move(next);
  }
  run_graph(state, g, nodes);
}
BENCHMARK(BM_graph_binary_tree)
    ->Args({16, 0})
    ->Args({16, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// An m x m grid: node (i, j) depends on (i-1, j) and (i, j-1).
void BM_graph_wavefront(benchmark::State& state) {
  const auto m = static_cast<std::size_t>(state.range(0));
  bg::task_graph g;
  std::vector<bg::graph_node<std::uint64_t>> grid(m * m);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < m; ++j) {
      auto& cell = grid[i * m + j];
      if (i == 0 && j == 0) {
        cell = g.add("w", [] { return std::uint64_t{1}; });
      } else if (i == 0) {
        cell = g.add(
            "w", [](std::uint64_t l) { return l + 1; }, grid[j - 1]);
      } else if (j == 0) {
        cell = g.add(
            "w", [](std::uint64_t u) { return u + 1; }, grid[(i - 1) * m]);
      } else {
        cell = g.add(
            "w", [](std::uint64_t u, std::uint64_t l) { return u + l; }, grid[(i - 1) * m + j],
            grid[i * m + j - 1]);
      }
    }
  }
  run_graph(state, g, m * m);
}
BENCHMARK(BM_graph_wavefront)
    ->Args({256, 0})
    ->Args({256, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
