// brigade::channel::oneshot: send / receive, closing, cancellation, threads.
#include <brigade/channel/oneshot.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/counted.hpp"
#include "support/helpers.hpp"
#include "support/manual_event.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace bg = brigade;
namespace ch = brigade::channel;
using bg::testing::counted;
using bg::testing::until;

namespace {

template <class T>
bg::task<T> receive(ch::oneshot_receiver<T>& rx) {
  T v = co_await rx;
  co_return v;
}

bg::task<int> receive_counted(ch::oneshot_receiver<counted>& rx,
                              bg::testing::manual_event& parked) {
  parked.set();
  counted v = co_await rx;
  co_return v.value();
}

}  // namespace

BRIGADE_TEST(Oneshot, SendThenReceive) {
  auto [tx, rx] = ch::oneshot<std::string>();
  EXPECT_FALSE(tx.is_closed());
  EXPECT_TRUE(tx.send(std::string("eggs")));
  EXPECT_FALSE(tx.valid());
  std::string v = co_await rx;
  EXPECT_EQ(v, "eggs");
}

BRIGADE_TEST(Oneshot, ReceiverWaitsForTheSend) {
  auto [tx, rx] = ch::oneshot<int>();
  auto h = bg::spawn(receive(rx));
  co_await bg::testing::turns(3);
  EXPECT_FALSE(h.is_finished());
  const int answer = 42;
  EXPECT_TRUE(tx.send(answer));
  EXPECT_EQ(co_await h, 42);
}

BRIGADE_TEST(Oneshot, DroppedSenderClosesTheReceiver) {
  auto [tx, rx] = ch::oneshot<int>();
  auto h = bg::spawn(receive(rx));
  co_await bg::testing::turns(3);
  { auto gone = std::move(tx); }
  EXPECT_THROW(co_await h, ch::closed_error);
  EXPECT_THROW((void)rx.try_recv(), ch::closed_error);
}

BRIGADE_TEST(Oneshot, SendToADroppedReceiverKeepsTheValue) {
  auto [tx, rx] = ch::oneshot<std::unique_ptr<int>>();
  { auto gone = std::move(rx); }
  EXPECT_TRUE(tx.is_closed());
  auto p = std::make_unique<int>(5);
  EXPECT_FALSE(tx.send(std::move(p)));
  BRIGADE_CO_ASSERT(p != nullptr);
  EXPECT_EQ(*p, 5);
  EXPECT_TRUE(tx.valid());
  co_return;
}

BRIGADE_TEST(Oneshot, TryRecvBeforeAndAfter) {
  auto [tx, rx] = ch::oneshot<int>();
  EXPECT_FALSE(rx.try_recv().has_value());
  EXPECT_TRUE(tx.send(7));
  auto v = rx.try_recv();
  BRIGADE_CO_ASSERT(v.has_value());
  EXPECT_EQ(*v, 7);
  EXPECT_THROW((void)rx.try_recv(), std::logic_error);
  EXPECT_THROW((void)tx.send(8), std::logic_error);
  co_return;
}

BRIGADE_TEST(Oneshot, AbortedReceiveLosesNoValue) {
  counted::reset();
  {
    auto [tx, rx] = ch::oneshot<counted>();
    bg::testing::manual_event parked;
    auto h = bg::spawn(receive_counted(rx, parked));
    co_await parked.wait();
    co_await bg::testing::turns(2);
    h.abort();
    EXPECT_TRUE(tx.send(counted{9}));  // races the abort
    try {
      EXPECT_EQ(co_await h, 9);
    } catch (const bg::cancelled&) {
      auto v = rx.try_recv();  // the aborted receive left it in the channel
      BRIGADE_CO_ASSERT(v.has_value());
      EXPECT_EQ(v->value(), 9);
    }
  }
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST_CURRENT_THREAD(Oneshot, WokenThenAbortedReceiveLeavesTheValue) {
  auto [tx, rx] = ch::oneshot<int>();
  auto h = bg::spawn(receive(rx));
  co_await bg::testing::turns(2);
  EXPECT_TRUE(tx.send(3));  // wakes the receiver, which has not run yet
  h.abort();
  EXPECT_THROW(co_await h, bg::cancelled);
  EXPECT_EQ(co_await rx, 3);
}

BRIGADE_TEST(Oneshot, UnreceivedValueIsDestroyedWithTheChannel) {
  counted::reset();
  {
    auto [tx, rx] = ch::oneshot<counted>();
    EXPECT_TRUE(tx.send(counted{1}));
  }
  EXPECT_EQ(counted::alive(), 0);
  co_return;
}

BRIGADE_TEST(Oneshot, PlainThreadSendsAndReceives) {
  // (No lambda captures of structured bindings: clang 14 lacks them.)
  auto there = ch::oneshot<int>();
  auto back = ch::oneshot<int>();
  std::thread th([&] {
    const int v = there.receiver.blocking_recv();
    back.sender.send(v + 1);
  });
  there.sender.send(10);
  EXPECT_EQ(co_await back.receiver, 11);
  th.join();
}

BRIGADE_TEST(Oneshot, BlockingRecvSeesADroppedSender) {
  auto [tx, rx] = ch::oneshot<int>();
  bool closed = false;
  std::thread th([&closed, &r = rx] {
    try {
      (void)r.blocking_recv();
    } catch (const ch::closed_error&) {
      closed = true;
    }
  });
  { auto gone = std::move(tx); }
  th.join();
  EXPECT_TRUE(closed);
  co_return;
}

BRIGADE_TEST(Oneshot, BlockingRecvInsideARuntimeThrows) {
  auto [tx, rx] = ch::oneshot<int>();
  EXPECT_THROW((void)rx.blocking_recv(), std::logic_error);
  co_return;
}

TEST(Oneshot, ShutdownWithAWaitingReceiver) {
  bg::testing::for_each_flavor([](bg::flavor f) {
    bg::testing::frame_accounting accounting;
    auto [tx, rx] = ch::oneshot<int>();
    {
      bg::runtime rt{bg::testing::options_for(f)};
      auto h = rt.spawn(receive(rx));
      rt.block_on(bg::testing::turns(5));
      rt.shutdown();
      EXPECT_THROW(h.take_result(), bg::cancelled);
    }
    EXPECT_TRUE(tx.send(4));  // the channel still works
    EXPECT_EQ(rx.try_recv().value_or(0), 4);
  });
}
