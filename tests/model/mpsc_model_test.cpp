// Model check of the bounded mpsc channel on plain threads: two producers
// (blocking_send / try_send) and a consumer (blocking_recv) over a channel
// of capacity 1. No message is lost or duplicated, each producer's order is
// kept, and once every sender is gone blocking_recv returns nullopt exactly
// after the last message.

#include "model/model.hpp"

#include <brigade/channel/mpsc.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace {

namespace model = brigade::model;
using brigade::channel::mpsc;
using brigade::channel::mpsc_sender;
using brigade::channel::try_send_result;

struct message : model::tracked {
  explicit message(int v) noexcept : v_(v) {}
  int v_;
};

/// Messages are producer * 10 + sequence number.
/// Producer 0 sends 0, 1; producer 1 sends 10.
void check_stream(const std::vector<int>& got) {
  MODEL_CHECK(got.size() == 3);
  int next0 = 0;
  int next1 = 10;
  for (int m : got) {
    if (m < 10) {
      MODEL_CHECK(m == next0++);  // in order, once
    } else {
      MODEL_CHECK(m == next1++);
    }
  }
  MODEL_CHECK(next0 == 2 && next1 == 11);
}

enum class send_kind : std::uint8_t { blocking, trying };

void produce(mpsc_sender<message> tx, int producer, int count, send_kind how) {
  for (int i = 0; i < count; ++i) {
    message m(producer * 10 + i);
    if (how == send_kind::blocking) {
      MODEL_CHECK(tx.blocking_send(std::move(m)));
    } else {
      for (;;) {
        const try_send_result r = tx.try_send(std::move(m));
        MODEL_CHECK(r != try_send_result::closed);
        if (r == try_send_result::sent) break;
        model::yield();  // full: m was left with us; let the consumer run
      }
    }
  }
}  // tx is dropped here: the last sender's drop ends the stream

void two_producers(send_kind how, std::set<std::vector<int>>& streams) {
  const model::report r = model::explore({}, [&] {
    auto ends = mpsc<message>(1);
    mpsc_sender<message> second = ends.sender;  // a second sender (copy)
    model::thread p0([&] { produce(std::move(ends.sender), 0, 2, how); });
    model::thread p1([&] { produce(std::move(second), 1, 1, how); });
    std::vector<int> got;
    for (;;) {
      std::optional<message> m = ends.receiver.blocking_recv();
      if (!m) break;
      got.push_back(m->v_);
    }
    p0.join();
    p1.join();
    check_stream(got);
    MODEL_CHECK(!ends.receiver.try_recv());  // nothing after the end
    streams.insert(got);
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
}

// Every merge of producer 0's two messages with producer 1's one is
// reachable: the channel imposes no order across producers.
const std::set<std::vector<int>> all_merges = {{0, 1, 10}, {0, 10, 1}, {10, 0, 1}};

TEST(ModelMpsc, TwoBlockingProducersCapacityOne) {
  std::set<std::vector<int>> streams;
  two_producers(send_kind::blocking, streams);
  EXPECT_EQ(streams, all_merges);
}

TEST(ModelMpsc, TwoTryingProducersCapacityOne) {
  std::set<std::vector<int>> streams;
  two_producers(send_kind::trying, streams);
  EXPECT_EQ(streams, all_merges);
}

// close() by the receiver while a producer is blocked on the full channel:
// the blocked send is refused and its message stays with the producer;
// messages already buffered are still received. Each message ends up in
// exactly one place.
TEST(ModelMpsc, CloseRacesABlockedSender) {
  std::set<std::pair<int, int>> outcomes;  // (received, refused)
  const model::report r = model::explore({}, [&] {
    auto ends = mpsc<message>(1);
    int refused = 0;
    model::thread producer([&] {
      auto tx = std::move(ends.sender);
      for (int i = 0; i < 2; ++i) {
        message m(i);
        if (!tx.blocking_send(std::move(m))) {
          MODEL_CHECK(m.v_ == i);  // left with us
          ++refused;
        }
      }
    });
    std::vector<int> got;
    if (std::optional<message> m = ends.receiver.try_recv()) got.push_back(m->v_);
    ends.receiver.close();
    while (std::optional<message> m = ends.receiver.blocking_recv()) got.push_back(m->v_);
    producer.join();
    for (std::size_t i = 0; i < got.size(); ++i) MODEL_CHECK(got[i] == static_cast<int>(i));
    MODEL_CHECK(static_cast<int>(got.size()) + refused == 2);
    outcomes.insert({static_cast<int>(got.size()), refused});
  });
  EXPECT_FALSE(r.failed) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(outcomes, (std::set<std::pair<int, int>>{{0, 2}, {1, 1}, {2, 0}}));
}

}  // namespace
