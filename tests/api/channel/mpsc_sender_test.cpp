// brigade::channel::mpsc_sender: copies, try_send, blocking_send.
#include <brigade/channel/mpsc_sender.hpp>

#include <brigade/channel/mpsc.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "api/sync/sync_test_util.hpp"
#include "support/helpers.hpp"

#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bg = brigade;
namespace ch = brigade::channel;

BRIGADE_TEST(MpscSender, EmptySenderThrows) {
  ch::mpsc_sender<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_TRUE(empty.is_closed());
  EXPECT_THROW((void)empty.try_send(1), std::logic_error);
  EXPECT_THROW((void)empty.send(1), std::logic_error);
  co_return;
}

BRIGADE_TEST(MpscSender, CopyAndAssignKeepTheChannelOpen) {
  auto [tx, rx] = ch::mpsc<int>(4);
  ch::mpsc_sender<int> a = tx;
  ch::mpsc_sender<int> b;
  b = a;
  ch::mpsc_sender<int>& same = b;
  b = same;  // self-assignment is harmless
  { auto gone = std::move(tx); }
  { auto gone = std::move(a); }
  EXPECT_FALSE(rx.is_closed());
  EXPECT_EQ(b.try_send(1), ch::try_send_result::sent);
  { auto gone = std::move(b); }
  EXPECT_TRUE(rx.is_closed());
  EXPECT_EQ(*co_await rx.recv(), 1);
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

BRIGADE_TEST(MpscSender, LvalueSendsCopy) {
  auto [tx, rx] = ch::mpsc<std::string>(1);
  const std::string s = "copied";
  EXPECT_TRUE(co_await tx.send(s));
  EXPECT_EQ(s, "copied");
  EXPECT_EQ(tx.try_send(s), ch::try_send_result::full);
  EXPECT_EQ(*co_await rx.recv(), "copied");
}

BRIGADE_TEST(MpscSender, BlockingSendWaitsForRoom) {
  auto chan = ch::mpsc<int>(1);
  EXPECT_EQ(chan.sender.try_send(0), ch::try_send_result::sent);
  std::thread th([tx = chan.sender]() mutable {
    EXPECT_TRUE(tx.blocking_send(1));  // waits: full
    EXPECT_TRUE(tx.blocking_send(2));
  });
  EXPECT_EQ(*co_await chan.receiver.recv(), 0);
  EXPECT_EQ(*co_await chan.receiver.recv(), 1);
  EXPECT_EQ(*co_await chan.receiver.recv(), 2);
  th.join();
}

BRIGADE_TEST(MpscSender, BlockingSendSeesClose) {
  auto chan = ch::mpsc<int>(1);
  EXPECT_EQ(chan.sender.try_send(0), ch::try_send_result::sent);
  bool result = true;
  std::thread th([&result, tx = chan.sender]() mutable { result = tx.blocking_send(1); });
  // Let the thread queue (if it has not, it finds the channel closed:
  // blocking_send returns false either way).
  for (int i = 0; i < 100; ++i) co_await bg::yield_now();
  chan.receiver.close();
  th.join();
  EXPECT_FALSE(result);
}
