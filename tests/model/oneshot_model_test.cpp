// Model check of channel::oneshot on plain threads: send vs receive
// (blocking_recv, try_recv) vs either end being dropped. The value is
// received, handed back to the sender, or destroyed with the channel:
// exactly one of them, and nothing leaks (model::tracked).

#include "model/model.hpp"

#include <brigade/channel/oneshot.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <utility>

namespace {

namespace model = brigade::model;
using brigade::channel::closed_error;
using brigade::channel::oneshot;

struct value : model::tracked {
  explicit value(int v) noexcept : v_(v) {}
  int v_;
};

enum class fate : std::uint8_t { received, returned, dropped_in_channel, closed };

// A blocking receiver against a sender that sends (or drops its end).
void blocking_race(bool sends, std::set<std::pair<fate, bool>>& seen) {
  const model::report r = model::explore({}, [&] {
    auto ends = oneshot<value>();
    auto& rx = ends.receiver;
    model::thread sender([&] {
      auto s = std::move(ends.sender);
      if (sends) {
        value v(7);
        MODEL_CHECK(s.send(std::move(v)));  // the receiver is there
      } else {
        auto dropped = std::move(s);
      }
    });
    const std::uint64_t blocks_before = model::blocks();
    fate f = fate::closed;
    try {
      value got = rx.blocking_recv();
      MODEL_CHECK(got.v_ == 7);
      f = fate::received;
    } catch (const closed_error&) {
    }
    sender.join();
    MODEL_CHECK(f == (sends ? fate::received : fate::closed));
    seen.insert({f, model::blocks() > blocks_before});
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
}

TEST(ModelOneshot, BlockingRecvRacesSend) {
  std::set<std::pair<fate, bool>> seen;
  blocking_race(true, seen);
  // The receiver found the value, or slept and was woken by the send.
  EXPECT_EQ(seen,
            (std::set<std::pair<fate, bool>>{{fate::received, false}, {fate::received, true}}));
}

TEST(ModelOneshot, BlockingRecvRacesSenderDrop) {
  std::set<std::pair<fate, bool>> seen;
  blocking_race(false, seen);
  EXPECT_EQ(seen, (std::set<std::pair<fate, bool>>{{fate::closed, false}, {fate::closed, true}}));
}

// try_recv, then the receiver goes away, racing a send: the value is
// received, destroyed with the receiver, or handed back to the sender.
TEST(ModelOneshot, TryRecvAndReceiverDropRaceSend) {
  std::set<fate> seen;
  const model::report r = model::explore({}, [&] {
    auto ends = oneshot<value>();
    auto& rx = ends.receiver;
    int returned = 0;
    bool send_ok = false;
    model::thread sender([&] {
      auto s = std::move(ends.sender);
      value v(7);
      send_ok = s.send(std::move(v));
      if (!send_ok) {
        MODEL_CHECK(v.v_ == 7);  // left untouched: still ours
        MODEL_CHECK(s.is_closed());
        ++returned;
      }
    });
    int received = 0;
    {
      auto r_end = std::move(rx);
      if (std::optional<value> got = r_end.try_recv()) {
        MODEL_CHECK(got->v_ == 7);
        ++received;
      }
    }  // the receiver is dropped here
    sender.join();
    MODEL_CHECK(received + returned <= 1);
    MODEL_CHECK(send_ok == (returned == 0));
    if (received == 1) {
      seen.insert(fate::received);
    } else if (returned == 1) {
      seen.insert(fate::returned);
    } else {
      seen.insert(fate::dropped_in_channel);  // sent after try_recv, before the drop
    }
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(seen, (std::set<fate>{fate::received, fate::returned, fate::dropped_in_channel}));
}

}  // namespace
