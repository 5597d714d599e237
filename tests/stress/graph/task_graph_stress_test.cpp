// task_graph under load: random DAGs (seeded) with CPU and coroutine nodes,
// run repeatedly on 1, 2 and 4 workers, checked against a sequential
// evaluation; random failures; cancellation racing with completion.

#include <brigade/graph/task_graph.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;

namespace {

constexpr int nodes = 1500;
constexpr int rounds = 8;

class stress_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A random DAG: node i depends on up to 3 earlier nodes; value(i) =
/// i + sum of the dependencies' values (mod 2^32); every 7th node is a
/// coroutine that yields first.
struct random_dag {
  bg::task_graph g;
  std::vector<bg::graph_node<std::uint32_t>> handles;
  std::vector<std::uint32_t> expected;
  std::vector<std::vector<int>> deps;

  explicit random_dag(std::uint32_t seed, int fail_at = -1) {
    std::mt19937 rng(seed);
    expected.resize(nodes);
    deps.resize(nodes);
    for (int i = 0; i < nodes; ++i) {
      std::vector<bg::graph_node<std::uint32_t>> in;
      const int k = i == 0 ? 0 : static_cast<int>(rng() % 4);
      std::uint32_t sum = static_cast<std::uint32_t>(i);
      for (int j = 0; j < k; ++j) {
        const int d = static_cast<int>(rng() % static_cast<std::uint32_t>(i));
        deps[static_cast<std::size_t>(i)].push_back(d);
        in.push_back(handles[static_cast<std::size_t>(d)]);
        sum += expected[static_cast<std::size_t>(d)];
      }
      expected[static_cast<std::size_t>(i)] = sum;
      const auto self = static_cast<std::uint32_t>(i);
      const bool fails = i == fail_at;
      if (i % 7 == 3) {
        handles.push_back(g.add(
            "c",
            [self, fails](bg::graph_inputs<std::uint32_t> xs) -> bg::task<std::uint32_t> {
              co_await bg::yield_now();
              if (fails) throw stress_failure("node failed");
              std::uint32_t s = self;
              for (std::uint32_t x : xs) s += x;
              co_return s;
            },
            in));
      } else {
        handles.push_back(g.add(
            "p",
            [self, fails](bg::graph_inputs<std::uint32_t> xs) {
              if (fails) throw stress_failure("node failed");
              std::uint32_t s = self;
              for (std::uint32_t x : xs) s += x;
              return s;
            },
            in));
      }
    }
  }

  /// Nodes that depend (transitively) on `root`.
  std::vector<bool> downstream_of(int root) const {
    std::vector<bool> down(nodes, false);
    down[static_cast<std::size_t>(root)] = true;
    for (int i = root + 1; i < nodes; ++i) {
      for (int d : deps[static_cast<std::size_t>(i)]) {
        if (down[static_cast<std::size_t>(d)]) down[static_cast<std::size_t>(i)] = true;
      }
    }
    return down;
  }
};

class GraphStress : public ::testing::TestWithParam<std::size_t> {
 protected:
  bg::runtime_options options() const {
    return bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = GetParam()};
  }
};

TEST_P(GraphStress, RandomDagsMatchSequentialEvaluation) {
  bg::runtime rt{options()};
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    random_dag dag(seed);
    for (int r = 0; r < rounds; ++r) {
      dag.g.run_blocking(rt);
      for (int i = 0; i < nodes; ++i) {
        ASSERT_EQ(dag.handles[static_cast<std::size_t>(i)].get(),
                  dag.expected[static_cast<std::size_t>(i)])
            << "seed " << seed << " round " << r << " node " << i;
      }
    }
  }
}

TEST_P(GraphStress, FailuresCancelExactlyTheirDependents) {
  bg::runtime rt{options()};
  for (std::uint32_t seed = 10; seed < 14; ++seed) {
    const int fail_at = static_cast<int>(seed * 97 % nodes);
    random_dag dag(seed, fail_at);
    const std::vector<bool> down = dag.downstream_of(fail_at);
    for (int r = 0; r < 3; ++r) {
      EXPECT_THROW(dag.g.run_blocking(rt, bg::failure_policy::finish_independent), bg::graph_error);
      for (int i = 0; i < nodes; ++i) {
        const auto& h = dag.handles[static_cast<std::size_t>(i)];
        if (i == fail_at) {
          ASSERT_EQ(h.status(), bg::node_status::failed);
        } else if (down[static_cast<std::size_t>(i)]) {
          ASSERT_EQ(h.status(), bg::node_status::cancelled) << i;
        } else {
          ASSERT_EQ(h.get(), dag.expected[static_cast<std::size_t>(i)]) << i;
        }
      }
      // cancel_all: never a second failure, nothing left unrun.
      EXPECT_THROW(dag.g.run_blocking(rt), bg::graph_error);
      for (int i = 0; i < nodes; ++i) {
        const auto s = dag.handles[static_cast<std::size_t>(i)].status();
        ASSERT_TRUE(s == bg::node_status::succeeded || s == bg::node_status::cancelled ||
                    (i == fail_at && s == bg::node_status::failed))
            << i;
      }
    }
  }
}

TEST_P(GraphStress, CancellationRacesWithCompletion) {
  bg::runtime rt{options()};
  auto dag = std::make_shared<random_dag>(99);
  int started_runs = 0;
  for (int r = 0; r < 30; ++r) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto h = rt.spawn(
        [](std::shared_ptr<random_dag> d, std::shared_ptr<std::atomic<bool>> s) -> bg::task<> {
          s->store(true);
          co_await d->g.run();  // resets every node before its first suspension
        }(dag, started));
    for (int spin = 0; spin < r * 50; ++spin) std::this_thread::yield();
    h.abort();
    bool cancelled = false;
    try {
      rt.block_on([](bg::join_handle<void>& jh) -> bg::task<> { co_await jh; }(h));
    } catch (const bg::cancelled&) {
      cancelled = true;
    }
    if (!started->load()) {
      ASSERT_TRUE(cancelled);  // aborted before it started: the graph was not touched
      continue;
    }
    ++started_runs;
    // The run started: every node either ran correctly or was cancelled.
    for (int i = 0; i < nodes; ++i) {
      const auto& n = dag->handles[static_cast<std::size_t>(i)];
      if (n.status() == bg::node_status::succeeded) {
        ASSERT_EQ(n.get(), dag->expected[static_cast<std::size_t>(i)]);
      } else {
        ASSERT_TRUE(cancelled);
        ASSERT_EQ(n.status(), bg::node_status::cancelled) << i;
      }
    }
  }
  EXPECT_GT(started_runs, 0);
}

TEST_P(GraphStress, WideFanOutOnManyWorkers) {
  bg::runtime rt{options()};
  bg::task_graph g;
  auto root = g.add("root", [] { return 1; });
  std::vector<bg::graph_node<int>> mid;
  for (int i = 0; i < 5000; ++i)
    mid.push_back(g.add(
        "m", [i](int r) { return i % 3 + r; }, root));
  auto sink = g.add(
      "sink",
      [](bg::graph_inputs<int> in) {
        long s = 0;
        for (int v : in) s += v;
        return s;
      },
      mid);
  long expected = 0;
  for (int i = 0; i < 5000; ++i) expected += i % 3 + 1;
  for (int r = 0; r < 10; ++r) {
    g.run_blocking(rt);
    ASSERT_EQ(sink.get(), expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, GraphStress, ::testing::Values(1u, 2u, 4u));

}  // namespace
