// breakfast_graph: breakfast as a task graph.
//
// Shows: brigade::task_graph with plain-function nodes and coroutine nodes
// (a node may co_await: here it yields and awaits a spawned task, as it
// would await a timer or a socket), typed results flowing to dependents,
// a failure cancelling only what depends on it, a second run of the same
// graph, per-node timings, and the Graphviz text of the graph.
// Run: ./example_breakfast_graph   (prints the meal, the timeline and the
// graph in DOT; pipe the DOT part into `dot -Tsvg` to draw it; exits 0)

#include <brigade/brigade.hpp>
#include <brigade/graph/task_graph.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace bg = brigade;

namespace {

struct eggs {
  int count;
};
struct toast {
  int slices;
  bool buttered;
};
struct coffee {
  std::string kind;
};

/// Simmering: the cook does other things meanwhile (the worker is free).
bg::task<> simmer(int turns) {
  for (int i = 0; i < turns; ++i) co_await bg::yield_now();
}

bg::task<eggs> fry_eggs(int n) {
  co_await simmer(20);
  co_return eggs{n};
}

}  // namespace

int main() {
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 2}};
  bool burn_the_toast = false;

  bg::task_graph g;
  // A coroutine node: heats the pan, then awaits eggs frying in a spawned task.
  auto pan = g.add("heat pan", [] { return 180; });
  auto fried = g.add(
      "fry eggs",
      [](int degrees) -> bg::task<eggs> {
        co_await simmer(degrees / 60);
        auto h = bg::spawn(fry_eggs(2), "frying");
        co_return co_await h;
      },
      pan);
  // Plain-function nodes: toast, then butter it.
  auto toasted = g.add("toast bread", [&burn_the_toast] {
    if (burn_the_toast) throw std::runtime_error("the toast is burnt");
    return toast{2, false};
  });
  auto buttered = g.add(
      "butter toast",
      [](toast t) {
        t.buttered = true;
        return t;
      },
      toasted);
  auto brewed = g.add("brew coffee", []() -> bg::task<coffee> {
    co_await simmer(30);
    co_return coffee{"black"};
  });
  // Plating needs everything: it runs last, with every result.
  auto plate = g.add(
      "plate",
      [](const eggs& e, const toast& t, const coffee& c) {
        return std::to_string(e.count) + " eggs, " + std::to_string(t.slices) +
               (t.buttered ? " buttered" : "") + " toast, " + c.kind + " coffee";
      },
      fried, buttered, brewed);

  g.run_blocking(rt);
  std::printf("breakfast: %s\n", plate.get().c_str());

  std::printf("timeline (microseconds from the first start):\n");
  const auto timings = g.timings();
  auto first = timings.front().times.start;
  for (const auto& t : timings) first = std::min(first, t.times.start);
  for (const auto& t : timings) {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    std::printf("  %-13s %6lld .. %6lld\n", t.name.c_str(),
                static_cast<long long>(duration_cast<microseconds>(t.times.start - first).count()),
                static_cast<long long>(duration_cast<microseconds>(t.times.end - first).count()));
  }

  // Second run: the toast burns. Only what depends on it is cancelled.
  burn_the_toast = true;
  try {
    g.run_blocking(rt, bg::failure_policy::finish_independent);
  } catch (const bg::graph_error& e) {
    std::printf("second run: %s\n", e.what());
  }
  std::printf("  eggs: %s, coffee: %s, plate: %s\n",
              fried.status() == bg::node_status::succeeded ? "ready" : "not ready",
              brewed.status() == bg::node_status::succeeded ? "ready" : "not ready",
              plate.status() == bg::node_status::cancelled ? "cancelled" : "served");

  std::printf("%s", g.to_dot().c_str());
  return plate.status() == bg::node_status::cancelled ? 0 : 1;
}
