#include <brigade/graph/graph_node.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/graph/task_graph.hpp>
#include <brigade/runtime.hpp>
#include <brigade/testing/test.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace bg = brigade;

TEST(GraphNode, EmptyHandleThrowsLogicError) {
  bg::graph_node<int> n;
  EXPECT_FALSE(n.valid());
  EXPECT_THROW((void)n.get(), std::logic_error);
  EXPECT_THROW((void)n.status(), std::logic_error);
}

TEST(GraphNode, NoResultBeforeTheFirstRun) {
  bg::task_graph g;
  auto n = g.add("n", [] { return 1; });
  EXPECT_TRUE(n.valid());
  EXPECT_EQ(n.name(), "n");
  EXPECT_EQ(n.status(), bg::node_status::not_run);
  EXPECT_THROW((void)n.get(), std::logic_error);
  EXPECT_EQ(n.times().start, n.times().end);
}

BRIGADE_TEST(GraphNode, GraphInputsIsARangeInDependencyOrder) {
  bg::task_graph g;
  std::vector<bg::graph_node<std::string>> parts;
  for (const char* s : {"a", "b", "c"}) parts.push_back(g.add(s, [s] { return std::string(s); }));
  auto joined = g.add(
      "join",
      [](bg::graph_inputs<std::string> in) {
        std::string out;
        for (const std::string& p : in) out += p;
        return out + std::to_string(in.size()) + in[1];
      },
      parts);
  co_await g.run();
  EXPECT_EQ(joined.get(), "abc3b");
  EXPECT_EQ(parts[2].get(), "c");
}

BRIGADE_TEST(GraphNode, VoidGatherOrdersOnly) {
  bg::task_graph g;
  std::vector<bg::graph_node<void>> steps;
  for (int i = 0; i < 4; ++i) steps.push_back(g.add("s", [] {}));
  auto after = g.add(
      "after", [] { return 7; }, steps);
  co_await g.run();
  EXPECT_EQ(after.get(), 7);
  steps[0].get();  // void get: returns when the node succeeded
}
