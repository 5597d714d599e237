// A finished spawned task's frame (and so its parameters) is destroyed when
// the task completes, not when its join_handle takes the result: the value
// waits in the result stash at the end of the task's block.
#include <brigade/channel/mpsc.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/scope.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>
#include <brigade/when.hpp>

#include "support/counted.hpp"
#include "support/helpers.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;

namespace {

using param = bg::testing::basic_counted<struct param_tag>;
using result = bg::testing::basic_counted<struct result_tag>;

bg::task<int> takes_param(param p) { co_return p.value(); }
bg::task<result> makes_result(param p) { co_return result{p.value()}; }
bg::task<std::string> long_string() { co_return std::string(1000, 'x'); }
bg::task<void> takes_param_void(param) { co_return; }
bg::task<int> throws_with_param(param) {
  throw std::runtime_error("boom");
  co_return 0;
}

template <class T>
bg::task<> until_finished(const bg::join_handle<T>& h) {
  for (int i = 0; i < 100000 && !h.is_finished(); ++i) co_await bg::yield_now();
}

BRIGADE_TEST(ResultStash, ParametersDieWhenTheTaskCompletesNotAtTheJoin) {
  param::reset();
  auto h = bg::spawn(takes_param(param{7}));
  co_await until_finished(h);
  BRIGADE_CO_ASSERT(h.is_finished());
  EXPECT_EQ(param::alive(), 0) << "the frame went with the completion";
  EXPECT_EQ(co_await h, 7);
}

BRIGADE_TEST(ResultStash, VoidAndFailingTasksReleaseTheirFrameToo) {
  param::reset();
  auto v = bg::spawn(takes_param_void(param{1}));
  auto f = bg::spawn(throws_with_param(param{2}));
  co_await until_finished(v);
  co_await until_finished(f);
  EXPECT_EQ(param::alive(), 0);
  co_await v;
  EXPECT_THROW(co_await f, std::runtime_error);
}

BRIGADE_TEST(ResultStash, AValueIsDestroyedExactlyOnceTakenOrNot) {
  param::reset();
  result::reset();
  {
    auto taken = bg::spawn(makes_result(param{3}));
    auto dropped = bg::spawn(makes_result(param{4}));
    co_await until_finished(taken);
    co_await until_finished(dropped);
    EXPECT_EQ(param::alive(), 0);
    EXPECT_EQ(result::alive(), 2) << "both results wait in their stash";
    const result r = co_await taken;
    EXPECT_EQ(r.value(), 3);
    EXPECT_EQ(result::alive(), 2) << "ours, and the one still stashed";
  }  // `dropped` is released without being taken: its stash is destroyed
  EXPECT_EQ(result::alive(), 0);
  auto s = bg::spawn(long_string());
  co_await until_finished(s);
  EXPECT_EQ((co_await s).size(), 1000u);
}

bg::task<> produce(ch::mpsc_sender<int> tx, int n) {
  for (int i = 0; i < n; ++i) (void)co_await tx.send(i);
}

// The trap the peer benchmark hit: producers take the sender by value and
// their handles are held while the receiver drains. The channel must close
// when the last producer finishes.
BRIGADE_TEST(ResultStash, ProducersHeldByHandleStillCloseTheChannel) {
  auto [tx, rx] = ch::mpsc<int>(4);
  std::vector<bg::join_handle<void>> producers;
  for (int p = 0; p < 3; ++p) producers.push_back(bg::spawn(produce(tx, 100)));
  { auto last = std::move(tx); }
  int received = 0;
  while (auto v = co_await rx.recv()) ++received;
  EXPECT_EQ(received, 300);
  for (auto& h : producers) co_await h;
}

BRIGADE_TEST(ResultStash, WhenAllAndTaskGroupReadTheStash) {
  param::reset();
  auto [a, b] = co_await bg::when_all(takes_param(param{5}), makes_result(param{6}));
  EXPECT_EQ(a, 5);
  EXPECT_EQ(b.value(), 6);
  EXPECT_EQ(param::alive(), 0);
  bg::task_group<int> group;
  group.spawn(takes_param(param{8}));
  const std::vector<int> all = co_await group.join_all();
  BRIGADE_CO_ASSERT(all.size() == 1u);
  EXPECT_EQ(all[0], 8);
  EXPECT_EQ(param::alive(), 0);
}

/// A value whose move may throw stays in its frame (and the frame lives until
/// the join): the result is still delivered.
struct throwing_move {
  int v = 0;
  explicit throwing_move(int x) : v(x) {}
  throwing_move(throwing_move&& o) noexcept(false) : v(o.v) {}
};
bg::task<throwing_move> makes_throwing_move(param p) { co_return throwing_move{p.value()}; }

int shared_value = 11;
bg::task<int&> makes_ref(param) { co_return shared_value; }

BRIGADE_TEST(ResultStash, ThrowingMovesStayInTheFrameAndReferencesWork) {
  param::reset();
  auto t = bg::spawn(makes_throwing_move(param{9}));
  co_await until_finished(t);
  EXPECT_EQ(param::alive(), 1) << "kept with its frame until the join";
  EXPECT_EQ((co_await t).v, 9);
  EXPECT_EQ(param::alive(), 0);
  auto r = bg::spawn(makes_ref(param{0}));
  co_await until_finished(r);
  EXPECT_EQ(param::alive(), 0);
  int& ref = co_await r;
  EXPECT_EQ(&ref, &shared_value);
}

// Dropping the handle of a finished task destroys the value it never took
// at once (on the dropping thread), and a task whose handle went first
// destroys its value when it completes, wherever the task ran: the
// scheduler may let go of a task completed on another worker than its
// spawner's some time later (registry_shard.hpp), and the value must not
// wait for that. Tasks spawned from a plain thread register with worker 0;
// worker 1 completes about half of them.
using detached_param = bg::testing::basic_counted<struct detached_param_tag>;
using detached_result = bg::testing::basic_counted<struct detached_result_tag>;
bg::task<detached_result> makes_detached(detached_param p) { co_return detached_result{p.value()}; }

TEST(ResultStashDrop, AnUntakenValueDiesWithItsHandleOnEveryWorker) {
  bg::runtime rt(bg::testing::options_for(bg::flavor::multi_thread));
  bg::runtime_handle h = rt.handle();
  for (int round = 0; round < 400; ++round) {
    param::reset();
    result::reset();
    detached_param::reset();
    detached_result::reset();
    std::vector<bg::join_handle<result>> handles;
    std::vector<bg::join_handle<throwing_move>> kept;
    for (int i = 0; i < 32; ++i) {
      handles.push_back(h.spawn(makes_result(param{i})));
      kept.push_back(h.spawn(makes_throwing_move(param{i})));
      h.spawn(makes_detached(detached_param{i})).detach();  // no handle from the start
    }
    for (int i = 0; i < 32; ++i) {
      while (!handles[i].is_finished() || !kept[i].is_finished()) std::this_thread::yield();
    }
    // A detached task's value dies when it completes (bounded wait): its
    // parameter went with the frame, its value from the stash.
    auto detached_alive = [] { return detached_param::alive() + detached_result::alive(); };
    for (int k = 0; k < 5000 && detached_alive() != 0; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(detached_alive(), 0) << "round " << round << ": detached values died";
    EXPECT_EQ(result::alive(), 32) << "round " << round << ": the handles' values wait";
    EXPECT_EQ(param::alive(), 32) << "round " << round << ": the kept frames wait";
    handles.clear();
    kept.clear();
    EXPECT_EQ(result::alive(), 0) << "round " << round << ": dropped with their handles";
    EXPECT_EQ(param::alive(), 0) << "round " << round << ": kept frames dropped too";
    if (HasFailure()) break;
  }
}

}  // namespace
