#include <brigade/task.hpp>

#include <brigade/testing/test.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace bg = brigade;

namespace {

bg::task<int> forty_two() { co_return 42; }

bg::task<int> add_one(int x) { co_return x + 1; }

bg::task<int> chain() {
  int v = co_await forty_two();
  v = co_await add_one(v);
  co_return v;
}

}  // namespace

BRIGADE_TEST_CURRENT_THREAD(Task, AwaitsValues) { EXPECT_EQ(co_await chain(), 43); }
