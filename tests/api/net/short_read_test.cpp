// The short-read hint (src/net/stream_ops.cpp read_some): a stream read that
// returned fewer bytes than asked means the socket was empty, so the next
// read waits for data without a syscall that would say EAGAIN, unless the
// peer's FIN, a hang-up or an error arrived meanwhile. Both backends, both
// flavors, through a seam that counts the reads of the server's socket.
#include <brigade/detail/sys.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/time/timeout.hpp>

#include "api/io/io_test.hpp"
#include "support/helpers.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>

namespace bg = brigade;
namespace bn = brigade::net;
namespace sys = brigade::detail::sys;
using namespace std::chrono_literals;

namespace {

std::atomic<int> watched_fd{-1};
std::atomic<int> empty_reads{0};
std::atomic<int> data_reads{0};

ssize_t counting_read(int fd, void* buf, std::size_t len) {
  const ssize_t n = sys::real().read(fd, buf, len);
  const int err = errno;
  if (fd == watched_fd.load()) {
    if (n >= 0) {
      data_reads.fetch_add(1);
    } else if (err == EAGAIN) {
      empty_reads.fetch_add(1);
    }
  }
  errno = err;
  return n;
}

/// The real calls with reads counted; `hint`: short_read_drains.
const sys::table& counting_table(bool hint) {
  static const sys::table with_hint = [] {
    sys::table c = sys::real();
    c.read = &counting_read;
    // The hint belongs to the socket path: a multishot recv would take
    // every read after the first wait off the socket (recv_ring_test).
    c.multishot_recv = false;
    return c;
  }();
  static const sys::table without_hint = [] {
    sys::table c = with_hint;
    c.short_read_drains = false;
    return c;
  }();
  return hint ? with_hint : without_hint;
}

/// Runs `body()` on every available backend and both flavors with the
/// counting seam installed.
template <class Body>
void on_every_runtime(Body body, bool hint = true) {
  bg::testing::with_seam_on_every_runtime(
      counting_table(hint),
      [] {
        watched_fd.store(-1);
        empty_reads.store(0);
        data_reads.store(0);
      },
      [&](bg::io_backend) { return body(); });
  watched_fd.store(-1);
}

struct connection {
  bn::tcp_stream server;
  bn::tcp_stream client;
};

bg::task<connection> connect_pair() {
  bn::tcp_listener listener = co_await bn::tcp_listener::bind("127.0.0.1:0");
  bn::tcp_stream client = co_await bn::tcp_stream::connect(listener.local_address());
  bn::accepted a = co_await listener.accept();
  watched_fd.store(a.stream.native_handle());
  co_return connection{std::move(a.stream), std::move(client)};
}

bg::task<std::string> read_once(bn::tcp_stream& s) {
  char buf[64];
  const std::size_t n = co_await s.read(bn::mutable_buffer(buf, sizeof buf));
  co_return std::string(buf, n);
}

/// Reads "hello", then waits for "world"; returns the EAGAIN reads the
/// second read made.
bg::task<int> empty_reads_of_the_next_read() {
  connection c = co_await connect_pair();
  // The first message is awaited (as a server's reads are): its readiness
  // edge has been consumed when the short read arms the hint. (A read that
  // wins the race against the edge of the data it reads sees that edge
  // later and asks the socket once more: the hint is conservative.)
  const std::string server_fd = "read fd " + std::to_string(c.server.native_handle());
  bg::join_handle<std::string> first = bg::spawn(read_once(c.server), "first-read");
  if (!co_await bg::testing::until_parked("first-read", server_fd)) co_return -1;
  co_await c.client.write_all(std::string("hello"));
  if (co_await first != "hello") co_return -1;  // short: 5 of 64
  const int empty_before = empty_reads.load();
  // The next read starts while nothing is there: it must wait without
  // asking the socket (the hint), then get the next message.
  bg::join_handle<std::string> reader = bg::spawn(read_once(c.server), "next-read");
  if (!co_await bg::testing::until_parked("next-read", server_fd)) co_return -1;
  co_await c.client.write_all(std::string("world"));
  if (co_await reader != "world") co_return -1;
  co_return empty_reads.load() - empty_before;
}

TEST(ShortReadHint, TheReadAfterAShortOneWaitsWithoutASyscall) {
  on_every_runtime([]() -> bg::task<> {
    EXPECT_EQ(co_await empty_reads_of_the_next_read(), 0) << "a read said EAGAIN";
  });
  // The control: without the hint that read asks the socket first.
  on_every_runtime(
      []() -> bg::task<> {
        EXPECT_EQ(co_await empty_reads_of_the_next_read(), 1) << "the control lost its meaning";
      },
      false);
}

bg::task<> fin_after_data_is_read() {
  connection c = co_await connect_pair();
  co_await c.client.write_all(std::string("abc"));
  c.client.shutdown_write();
  // Let the driver report data and FIN in one edge before the first read.
  co_await bg::sleep(20ms);
  BRIGADE_CO_ASSERT(co_await read_once(c.server) == "abc");  // short
  // The end was reported by the edge already consumed: no new edge comes.
  // The read must still see it instead of waiting forever.
  bg::task<std::string> rest = read_once(c.server);
  const std::string tail = co_await bg::timeout(5s, std::move(rest));
  EXPECT_EQ(tail, "");
}

TEST(ShortReadHint, TheEndAfterAShortReadIsStillRead) { on_every_runtime(fin_after_data_is_read); }

bg::task<> many_messages_byte_exact() {
  // Request/response rounds with short reads every time: nothing is lost
  // or delayed past its message.
  connection c = co_await connect_pair();
  for (int i = 0; i < 200; ++i) {
    const std::string msg = "message " + std::to_string(i);
    co_await c.client.write_all(msg);
    BRIGADE_CO_ASSERT(co_await read_once(c.server) == msg);
    co_await c.server.write_all(msg);
    BRIGADE_CO_ASSERT(co_await read_once(c.client) == msg);
  }
}

TEST(ShortReadHint, RequestResponseRoundsStayByteExact) {
  on_every_runtime(many_messages_byte_exact);
}

}  // namespace
