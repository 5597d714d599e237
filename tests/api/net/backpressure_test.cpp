// Bounded memory under backpressure (RELIABILITY R14, the per-connection
// output cap): a server that writes to a client that does not read waits in
// write_all instead of buffering; its buffered_writer never holds more than
// its capacity, and what it has handed over stays within the two socket
// buffers. When the client reads, every byte arrives once and in order.

#include <brigade/net/buffered.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/sleep.hpp>

#include "api/io/io_test.hpp"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;

namespace {

using namespace std::chrono_literals;

constexpr std::size_t record_bytes = 100;
constexpr std::size_t total_bytes = record_bytes * 80'000;  // 8 MB
constexpr std::size_t writer_capacity = 4096;
constexpr int socket_buffer = 64 * 1024;  // the kernel doubles it
/// What the writer may have handed over while the client reads nothing: the
/// two socket buffers (with the kernel's bookkeeping) and the writer's own.
constexpr std::size_t handed_over_bound = std::size_t{2} << 20;

char pattern_byte(std::size_t i) { return static_cast<char>((i * 131 + 7) % 251); }

struct progress {
  std::atomic<std::size_t> handed_over{0};  // bytes write() has returned for
  std::atomic<std::size_t> max_buffered{0};
};

bg::task<> write_records(bn::tcp_stream& s, progress& p) {
  bn::buffered_writer w{s, writer_capacity};
  std::vector<char> record(record_bytes);
  for (std::size_t done = 0; done < total_bytes; done += record_bytes) {
    for (std::size_t i = 0; i < record_bytes; ++i) record[i] = pattern_byte(done + i);
    co_await w.write(bn::const_buffer{record.data(), record.size()});
    p.handed_over.store(done + record_bytes, std::memory_order_relaxed);
    if (w.buffered() > p.max_buffered.load(std::memory_order_relaxed)) {
      p.max_buffered.store(w.buffered(), std::memory_order_relaxed);
    }
  }
  co_await w.flush();
  s.shutdown_write();
}

void shrink_buffer(const bn::tcp_stream& s, int option) {
  const int size = socket_buffer;
  ASSERT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, option, &size, sizeof size), 0);
}

/// Waits until `p.handed_over` has not moved for 100 ms (at most 5 s).
bg::task<std::size_t> wait_until_stalled(const progress& p) {
  std::size_t last = p.handed_over.load(std::memory_order_relaxed);
  for (int i = 0; i < 50; ++i) {
    co_await bg::sleep(100ms);
    const std::size_t now = p.handed_over.load(std::memory_order_relaxed);
    if (now == last) break;
    last = now;
  }
  co_return last;
}

}  // namespace

BRIGADE_IO_SUITE(Backpressure);

BRIGADE_IO_TEST(Backpressure, AWriterToAClientThatDoesNotReadWaitsWithinItsBuffers) {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  auto accepting = bg::spawn(l.accept());
  auto client = co_await bn::tcp_stream::connect(l.local_address());
  auto server = (co_await accepting).stream;
  shrink_buffer(server, SO_SNDBUF);
  shrink_buffer(client, SO_RCVBUF);
  progress p;
  auto writer = bg::spawn(write_records(server, p));

  const std::size_t stalled_at = co_await wait_until_stalled(p);
  std::printf("[backpressure] the writer stalled after %zu bytes (largest buffer %zu)\n",
              stalled_at, p.max_buffered.load());
  EXPECT_FALSE(writer.is_finished()) << "all " << total_bytes << " bytes were taken unread";
  EXPECT_LT(stalled_at, handed_over_bound);
  EXPECT_GT(stalled_at, 0u);
  EXPECT_LE(p.max_buffered.load(), writer_capacity);

  // The client reads now: every byte arrives, once and in order.
  std::vector<char> in(total_bytes);
  EXPECT_EQ(co_await client.read_exact(in), total_bytes);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < total_bytes; ++i) wrong += in[i] != pattern_byte(i) ? 1 : 0;
  EXPECT_EQ(wrong, 0u);
  char extra;
  EXPECT_EQ(co_await client.read(bn::mutable_buffer{&extra, 1}), 0u);  // the end, nothing more
  co_await writer;
  EXPECT_EQ(p.handed_over.load(), total_bytes);
}
