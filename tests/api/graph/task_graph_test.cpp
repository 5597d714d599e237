#include <brigade/graph/task_graph.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/testing/test.hpp>

#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bg = brigade;
using bg::testing::manual_event;

namespace {

class node_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct eggs {
  int count;
};
struct toast {
  std::string kind;
};
struct plate {
  int eggs;
  std::string toast;
};

bg::task<int> slow_value(int v) {
  for (int i = 0; i < 5; ++i) co_await bg::yield_now();
  co_return v;
}

/// The exception nested in a graph_error, rethrown as node_failure's what().
std::string nested_what(const bg::graph_error& e) {
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    return inner.what();
  }
  return {};
}

}  // namespace

BRIGADE_TEST(TaskGraph, DiamondPassesResultsToDependents) {
  bg::task_graph g;
  auto a = g.add("a", [] { return 2; });
  auto b = g.add(
      "b", [](const int& x) { return x * 10; }, a);
  auto c = g.add(
      "c", [](int x) { return x + 1; }, a);
  auto d = g.add(
      "d", [](int x, int y) { return std::to_string(x) + "/" + std::to_string(y); }, b, c);
  co_await g.run();
  EXPECT_EQ(d.get(), "20/3");
  EXPECT_EQ(a.get(), 2);
  EXPECT_EQ(b.status(), bg::node_status::succeeded);
}

BRIGADE_TEST(TaskGraph, BreakfastFromTheDesign) {
  bg::task_graph g;
  auto e = g.add("eggs", [] { return eggs{2}; });
  auto t = g.add("toast", [] { return toast{"rye"}; });
  auto p = g.add(
      "plate",
      [](eggs x, toast y) {
        return plate{x.count, y.kind};
      },
      e, t);
  co_await g.run();
  EXPECT_EQ(p.get().eggs, 2);
  EXPECT_EQ(p.get().toast, "rye");
  const std::string dot = g.to_dot();
  EXPECT_NE(dot.find("digraph"), std::string::npos);
  EXPECT_NE(dot.find("label=\"plate\""), std::string::npos);
  EXPECT_NE(dot.find("n0 -> n2;"), std::string::npos);
  EXPECT_NE(dot.find("n1 -> n2;"), std::string::npos);
}

BRIGADE_TEST(TaskGraph, VoidNodesOrderWithoutArguments) {
  auto log = std::make_shared<std::vector<int>>();
  bg::task_graph g;
  auto first = g.add("first", [log] { log->push_back(1); });
  auto second = g.add(
      "second", [log] { log->push_back(2); }, first);
  auto value = g.add(
      "value", [log] { return static_cast<int>(log->size()); }, second);
  co_await g.run();
  second.get();
  EXPECT_EQ(value.get(), 2);
  EXPECT_EQ(*log, (std::vector<int>{1, 2}));
}

BRIGADE_TEST(TaskGraph, WideFanOutFanIn) {
  constexpr int width = 10'000;
  bg::task_graph g;
  auto root = g.add("root", [] { return 3; });
  std::vector<bg::graph_node<long>> middle;
  middle.reserve(width);
  for (int i = 0; i < width; ++i) {
    middle.push_back(g.add(
        "m" + std::to_string(i), [i](int r) { return long{i} * r; }, root));
  }
  auto sink = g.add(
      "sink",
      [](bg::graph_inputs<long> in) {
        long s = 0;
        for (const long& v : in) s += v;
        return s;
      },
      middle);
  co_await g.run();
  EXPECT_EQ(sink.get(), 3L * width * (width - 1) / 2);
  EXPECT_EQ(g.size(), static_cast<std::size_t>(width + 2));
}

BRIGADE_TEST(TaskGraph, LongChainNeedsNoRecursion) {
  constexpr int length = 100'000;
  bg::task_graph g;
  g.set_timing(bg::timing_mode::not_recorded);
  auto cur = g.add("n0", [] { return 0; });
  for (int i = 1; i < length; ++i)
    cur = g.add(
        "n", [](int x) { return x + 1; }, cur);
  co_await g.run();
  EXPECT_EQ(cur.get(), length - 1);
}

BRIGADE_TEST(TaskGraph, FailedHeadCancelsALongChainWithoutRecursion) {
  constexpr int length = 100'000;
  bg::task_graph g;
  auto head = g.add("head", []() -> int { throw node_failure("burnt"); });
  auto cur = head;
  for (int i = 1; i < length; ++i)
    cur = g.add(
        "n", [](int x) { return x + 1; }, cur);
  bool caught = false;
  try {
    co_await g.run();
  } catch (const bg::graph_error& e) {
    caught = true;
    EXPECT_EQ(e.node(), "head");
  }
  EXPECT_TRUE(caught);
  EXPECT_EQ(cur.status(), bg::node_status::cancelled);
  EXPECT_THROW(cur.get(), bg::cancelled);
  EXPECT_THROW(head.get(), node_failure);
}

BRIGADE_TEST(TaskGraph, FailureNamesTheNodeAndCancelsDependents) {
  auto d_ran = std::make_shared<std::atomic<bool>>(false);
  bg::task_graph g;
  auto a = g.add("a", [] { return 1; });
  auto b = g.add(
      "b toaster", [](int) -> int { throw node_failure("toaster on fire"); }, a);
  auto c = g.add(
      "c", [](int x) { return x; }, a);
  auto d = g.add(
      "d",
      [d_ran](int, int) {
        d_ran->store(true);
        return 0;
      },
      b, c);
  bool caught = false;
  try {
    co_await g.run();
  } catch (const bg::graph_error& e) {
    caught = true;
    EXPECT_EQ(e.node(), "b toaster");
    EXPECT_EQ(nested_what(e), "toaster on fire");
    EXPECT_NE(std::string(e.what()).find("b toaster"), std::string::npos);
    EXPECT_THROW(std::rethrow_exception(e.cause()), node_failure);
  }
  EXPECT_TRUE(caught);
  EXPECT_FALSE(d_ran->load());
  EXPECT_EQ(b.status(), bg::node_status::failed);
  EXPECT_EQ(d.status(), bg::node_status::cancelled);
  EXPECT_THROW(b.get(), node_failure);
  EXPECT_NE(g.to_dot().find("color=red"), std::string::npos);
}

BRIGADE_TEST(TaskGraph, FinishIndependentRunsUnrelatedBranches) {
  bg::task_graph g;
  auto bad = g.add("bad", []() -> int { throw node_failure("no"); });
  auto after_bad = g.add(
      "after_bad", [](int x) { return x; }, bad);
  auto other = g.add("other", [] { return 5; });
  auto after_other = g.add(
      "after_other", [](int x) -> bg::task<int> { co_return co_await slow_value(x * 2); }, other);
  EXPECT_THROW(co_await g.run(bg::failure_policy::finish_independent), bg::graph_error);
  EXPECT_EQ(after_bad.status(), bg::node_status::cancelled);
  EXPECT_EQ(after_other.get(), 10);
}

BRIGADE_TEST_CURRENT_THREAD(TaskGraph, CancelAllStopsUnrelatedBranches) {
  // current_thread: roots start in the order they were added, so "bad"
  // fails before "other" starts; with cancel_all nothing else starts.
  bg::task_graph g;
  auto bad = g.add("bad", []() -> int { throw node_failure("no"); });
  auto other = g.add("other", [] { return 5; });
  auto after_other = g.add(
      "after_other", [](int x) { return x; }, other);
  EXPECT_THROW(co_await g.run(), bg::graph_error);
  EXPECT_EQ(bad.status(), bg::node_status::failed);
  EXPECT_EQ(other.status(), bg::node_status::cancelled);
  EXPECT_EQ(after_other.status(), bg::node_status::cancelled);
}

BRIGADE_TEST(TaskGraph, CancelAllNeverLeavesUnrelatedNodesFailedOrUnrun) {
  bg::task_graph g;
  g.add("bad", []() -> int { throw node_failure("no"); });
  std::vector<bg::graph_node<int>> others;
  for (int i = 0; i < 50; ++i) others.push_back(g.add("o", [i] { return i; }));
  EXPECT_THROW(co_await g.run(), bg::graph_error);
  for (auto& o : others) {
    EXPECT_TRUE(o.status() == bg::node_status::succeeded ||
                o.status() == bg::node_status::cancelled);
  }
}

BRIGADE_TEST(TaskGraph, RerunResetsAndRecomputes) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto fail_once = std::make_shared<std::atomic<bool>>(true);
  bg::task_graph g;
  auto a = g.add("a", [calls] { return ++*calls; });
  auto b = g.add(
      "b",
      [fail_once](int x) {
        if (fail_once->exchange(false)) throw node_failure("first run fails");
        return x * 100;
      },
      a);
  EXPECT_THROW(co_await g.run(), bg::graph_error);
  EXPECT_EQ(b.status(), bg::node_status::failed);
  co_await g.run();
  EXPECT_EQ(b.get(), 200);
  co_await g.run();
  EXPECT_EQ(a.get(), 3);
  EXPECT_EQ(b.get(), 300);
}

BRIGADE_TEST(TaskGraph, MixesCpuNodesAndCoroutineNodes) {
  bg::task_graph g;
  auto cpu = g.add("cpu", [] {
    long s = 0;
    for (int i = 0; i < 1000; ++i) s += i;
    return s;
  });
  auto io = g.add("io", []() -> bg::task<int> {
    co_await bg::yield_now();
    auto h = bg::spawn(slow_value(7));
    co_return co_await h;
  });
  auto both = g.add(
      "both",
      [](long s, int v) -> bg::task<long> {
        co_await bg::yield_now();
        co_return s + v;
      },
      cpu, io);
  auto done = g.add(
      "done", [](long x) { return x * 2; }, both);
  co_await g.run();
  EXPECT_EQ(done.get(), 2 * (499'500 + 7));
}

BRIGADE_TEST(TaskGraph, MoveOnlyResultsAreReadByReference) {
  bg::task_graph g;
  auto box = g.add("box", [] { return std::make_unique<int>(41); });
  auto read = g.add(
      "read", [](const std::unique_ptr<int>& p) { return *p + 1; }, box);
  co_await g.run();
  EXPECT_EQ(read.get(), 42);
  EXPECT_EQ(*box.get(), 41);
}

BRIGADE_TEST(TaskGraph, TimingsFollowDependencies) {
  bg::task_graph g;
  auto a = g.add("a", [] { return 1; });
  auto b = g.add(
      "b", [](int x) -> bg::task<int> { co_return co_await slow_value(x); }, a);
  co_await g.run();
  const auto ta = a.times();
  const auto tb = b.times();
  EXPECT_LE(ta.start, ta.end);
  EXPECT_LE(ta.end, tb.start);
  EXPECT_LE(tb.start, tb.end);
  const auto all = g.timings();
  BRIGADE_CO_ASSERT(all.size() == 2u);
  EXPECT_EQ(all[1].name, "b");
  EXPECT_EQ(all[1].status, bg::node_status::succeeded);
  EXPECT_EQ(all[1].times.start, tb.start);
  g.set_timing(bg::timing_mode::not_recorded);
  co_await g.run();
  EXPECT_EQ(b.times().start, std::chrono::steady_clock::time_point{});
}

BRIGADE_TEST(TaskGraph, EmptyGraphRunsAtOnce) {
  bg::task_graph g;
  co_await g.run();
  EXPECT_EQ(g.to_dot(), "digraph task_graph {\n}\n");
}

BRIGADE_TEST(TaskGraph, CancellingTheRunCancelsWaitingNodes) {
  auto ev = std::make_shared<manual_event>();
  auto g = std::make_shared<bg::task_graph>();
  auto waiting = g->add("waits", [ev]() -> bg::task<int> {
    co_await ev->wait();
    co_return 1;
  });
  auto after = g->add(
      "after", [](int x) { return x; }, waiting);
  auto h = bg::spawn(
      [](std::shared_ptr<bg::task_graph> graph) -> bg::task<> { co_await graph->run(); }(g));
  co_await bg::testing::until_waiters(*ev, 1);
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(waiting.status(), bg::node_status::cancelled);
  EXPECT_EQ(after.status(), bg::node_status::cancelled);
  EXPECT_EQ(ev->waiters(), 0u);
}

BRIGADE_TEST(TaskGraph, SecondConcurrentRunIsRefused) {
  auto ev = std::make_shared<manual_event>();
  auto g = std::make_shared<bg::task_graph>();
  g->add("waits", [ev]() -> bg::task<> { co_await ev->wait(); });
  auto h = bg::spawn(
      [](std::shared_ptr<bg::task_graph> graph) -> bg::task<> { co_await graph->run(); }(g));
  co_await bg::testing::until_waiters(*ev, 1);
  EXPECT_THROW(co_await g->run(), std::logic_error);
  EXPECT_THROW(g->add("late", [] {}), std::logic_error);
  ev->set();
  co_await h;
}

TEST(TaskGraph, RunBlockingFromAPlainThread) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::runtime rt{bg::testing::options_for(f)};
    bg::task_graph g;
    auto a = g.add("a", [] { return 20; });
    auto b = g.add(
        "b", [](int x) -> bg::task<int> { co_return co_await slow_value(x + 1); }, a);
    g.run_blocking(rt);
    EXPECT_EQ(b.get(), 21);
    g.run_blocking(rt);
    EXPECT_EQ(b.get(), 21);
  });
}

TEST(TaskGraph, RunBlockingInsideATaskIsALogicError) {
  bg::runtime rt{bg::testing::options_for(bg::flavor::multi_thread)};
  bg::task_graph g;
  g.add("a", [] { return 1; });
  rt.block_on([](bg::runtime& r, bg::task_graph& graph) -> bg::task<> {
    EXPECT_THROW(graph.run_blocking(r), std::logic_error);
    co_return;
  }(rt, g));
}

TEST(TaskGraph, ForeignDependencyIsRejected) {
  bg::task_graph g1, g2;
  auto a = g1.add("a", [] { return 1; });
  EXPECT_THROW(g2.add(
                   "b", [](int x) { return x; }, a),
               std::invalid_argument);
  EXPECT_THROW(g2.add(
                   "c", [](int x) { return x; }, bg::graph_node<int>{}),
               std::invalid_argument);
  EXPECT_EQ(g2.size(), 0u);
  EXPECT_TRUE(g1.to_dot().find("->") == std::string::npos);
}

TEST(TaskGraph, RunOutsideATaskIsALogicError) {
  bg::task_graph g;
  std::exception_ptr error;
  [](bg::task_graph& graph, std::exception_ptr&) -> bg::testing::eager { co_await graph.run(); }(
                                                     g, error);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
}

TEST(TaskGraph, MovedGraphKeepsItsNodes) {
  bg::runtime rt{bg::testing::options_for(bg::flavor::current_thread)};
  bg::task_graph g;
  auto a = g.add("a", [] { return 4; });
  bg::task_graph moved = std::move(g);
  auto b = moved.add(
      "b", [](int x) { return x * x; }, a);
  moved.run_blocking(rt);
  EXPECT_EQ(b.get(), 16);
}

TEST(TaskGraph, ShutdownDuringARunDestroysItAndTheGraphRunsAgain) {
  // The event and the graph outlive the runtime: shutdown destroys the run
  // (its awaiters unlink themselves), then the graph runs on a new runtime.
  bg::testing::for_each_flavor([](bg::flavor f) {
    manual_event ev;
    bg::task_graph g;
    auto waits = g.add("waits", [&ev]() -> bg::task<int> {
      co_await ev.wait();
      co_return 5;
    });
    auto after = g.add(
        "after", [](int x) { return x + 1; }, waits);
    {
      bg::testing::frame_accounting accounting;
      bg::runtime rt{bg::testing::options_for(f)};
      auto h = rt.spawn([](bg::task_graph& graph) -> bg::task<> { co_await graph.run(); }(g));
      rt.block_on([](manual_event& e, bg::join_handle<void>& jh) -> bg::task<> {
        while (e.waiters() < 1 && !jh.is_finished()) co_await bg::yield_now();
      }(ev, h));
      EXPECT_EQ(ev.waiters(), 1u);
      rt.shutdown();
      EXPECT_EQ(ev.waiters(), 0u);
    }
    ev.set();
    bg::runtime rt{bg::testing::options_for(f)};
    g.run_blocking(rt);
    EXPECT_EQ(after.get(), 6);
  });
}
