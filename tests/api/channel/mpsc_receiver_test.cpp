// brigade::channel::mpsc_receiver: recv, try_recv, blocking_recv, close.
#include <brigade/channel/mpsc_receiver.hpp>

#include <brigade/channel/mpsc.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/counted.hpp"
#include "support/helpers.hpp"

#include <stdexcept>
#include <thread>
#include <utility>

namespace bg = brigade;
namespace ch = brigade::channel;
using bg::testing::counted;

BRIGADE_TEST(MpscReceiver, EmptyReceiverThrows) {
  ch::mpsc_receiver<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_THROW((void)empty.try_recv(), std::logic_error);
  EXPECT_THROW((void)empty.recv(), std::logic_error);
  EXPECT_TRUE(empty.is_closed());
  EXPECT_EQ(empty.size(), 0u);
  empty.close();  // harmless
  co_return;
}

BRIGADE_TEST(MpscReceiver, MoveKeepsTheChannel) {
  auto [tx, rx] = ch::mpsc<int>(2);
  EXPECT_EQ(tx.try_send(5), ch::try_send_result::sent);
  ch::mpsc_receiver<int> moved = std::move(rx);
  EXPECT_FALSE(rx.valid());
  EXPECT_EQ(*co_await moved.recv(), 5);
  EXPECT_FALSE(tx.is_closed());
}

BRIGADE_TEST(MpscReceiver, CloseIsIdempotentAndKeepsBufferedMessages) {
  counted::reset();
  {
    auto [tx, rx] = ch::mpsc<counted>(4);
    EXPECT_EQ(tx.try_send(counted{1}), ch::try_send_result::sent);
    rx.close();
    rx.close();
    EXPECT_TRUE(rx.is_closed());
    EXPECT_EQ(tx.try_send(counted{2}), ch::try_send_result::closed);
    auto v = rx.try_recv();
    BRIGADE_CO_ASSERT(v.has_value());
    EXPECT_EQ(v->value(), 1);
    EXPECT_FALSE((co_await rx.recv()).has_value());
  }
  EXPECT_EQ(counted::alive(), 0);
}

BRIGADE_TEST(MpscReceiver, BlockingRecvFromAThread) {
  auto chan = ch::mpsc<int>(2);
  int sum = 0;
  std::thread th([&sum, &rx = chan.receiver] {
    while (auto v = rx.blocking_recv()) sum += *v;
  });
  for (int i = 1; i <= 100; ++i) EXPECT_TRUE(co_await chan.sender.send(i));
  { auto gone = std::move(chan.sender); }
  th.join();
  EXPECT_EQ(sum, 5050);
}
