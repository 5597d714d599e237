// Stream reads through a multishot recv (issue #5): on io_uring a stream
// whose read waited arms one IORING_OP_RECV (IORING_RECV_MULTISHOT) into
// the runtime's provided-buffer ring; its chunks queue per stream and the
// reads copy them out (src/io/recv_queue.hpp). epoll keeps the readiness
// path. The multishot is off in sys::real() for now: the suite turns it on
// through the seam. Every test runs on both backends and both flavors (the seam tests
// too, the proof that the ring serves the reads on io_uring only), with
// frame and fd accounting.

#include <brigade/cancelled.hpp>
#include <brigade/detail/sys.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/net/unix_stream.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/time/timeout.hpp>

#include "api/io/io_test.hpp"
#include "support/helpers.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;
namespace sys = brigade::detail::sys;
using namespace std::chrono_literals;

namespace {

bg::task<std::pair<bn::tcp_stream, bn::tcp_stream>> connected_pair() {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  auto c = co_await bn::tcp_stream::connect(l.local_address());
  auto a = co_await l.accept();
  // Small writes leave at once (no Nagle wait for a delayed ACK).
  c.set_nodelay(true);
  a.stream.set_nodelay(true);
  co_return std::pair{std::move(c), std::move(a.stream)};
}

/// Message i: 1 to 150 bytes, its content depending on i.
std::string message(int i) {
  std::string m = "#" + std::to_string(i) + ":";
  const std::size_t len = 1 + static_cast<std::size_t>(i * 37) % 150;
  while (m.size() < len) m += static_cast<char>('a' + (m.size() * 7 + i) % 26);
  m.resize(len);
  return m;
}

/// The byte at `offset` of a long transfer (period 251: a chunk boundary
/// lost, repeated or swapped shows).
char pattern(std::size_t offset, int seed) {
  return static_cast<char>((offset % 251) * 3 + static_cast<std::size_t>(seed));
}

/// `t` bounded by 10 s: a lost byte fails the test instead of hanging it.
template <class T>
bg::task<std::optional<T>> bounded(bg::task<T> t) {
  co_return co_await bg::try_timeout(10s, std::move(t));
}

bg::task<std::string> read_some(bn::tcp_stream& s, std::size_t room) {
  std::string buf(room, '\0');
  const std::size_t n = co_await s.read(buf);
  buf.resize(n);
  co_return buf;
}

/// Reads `s` until the peer's end with reads of sizes that vary (parts of
/// chunks, several chunks); returns how many bytes matched `pattern`
/// before the first mismatch (`size` when all did).
bg::task<std::size_t> read_pattern(bn::tcp_stream& s, std::size_t size, int seed) {
  std::vector<char> buf(70000);
  const std::size_t sizes[] = {1, 100, 3000, 65536, 2048, 7};
  std::size_t got = 0;
  for (int i = 0;; ++i) {
    const std::size_t n = co_await s.read(bn::mutable_buffer{buf.data(), sizes[i % 6]});
    if (n == 0) break;
    for (std::size_t k = 0; k < n; ++k) {
      if (buf[k] != pattern(got + k, seed)) co_return got + k;
    }
    got += n;
  }
  co_return got == size ? size : got + 1;  // a short or long stream fails too
}

bg::task<> write_pattern(bn::tcp_stream& s, std::size_t size, int seed) {
  std::vector<char> buf(65536);
  for (std::size_t done = 0; done < size;) {
    const std::size_t n = std::min(buf.size(), size - done);
    for (std::size_t k = 0; k < n; ++k) buf[k] = pattern(done + k, seed);
    co_await s.write_all(bn::const_buffer{buf.data(), n});
    done += n;
  }
}

/// Makes `server`'s next read wait (on io_uring: arms its multishot), then
/// gives it `first`.
bg::task<bool> read_after_a_wait(bn::tcp_stream& server, bn::tcp_stream& client,
                                 std::string first) {
  auto reader = bg::spawn(read_some(server, first.size()), "first-read");
  const std::string where = "read fd " + std::to_string(server.native_handle());
  if (!co_await bg::testing::until_parked("first-read", where)) co_return false;
  co_await client.write_all(first);
  co_return co_await reader == first;
}

// ---- the seam: EAGAIN reads of the server's socket ----

std::atomic<int> watched_fd{-1};
std::atomic<int> empty_reads{0};

ssize_t counting_read(int fd, void* buf, std::size_t len) {
  const ssize_t n = sys::real().read(fd, buf, len);
  const int err = errno;
  if (fd == watched_fd.load() && n < 0 && err == EAGAIN) empty_reads.fetch_add(1);
  errno = err;
  return n;
}

/// Reads counted, without the short-read hint (which skips the read that
/// would say EAGAIN before a one-shot recv); `multishot`: multishot_recv.
const sys::table& counting_table(bool multishot) {
  static const sys::table with = [] {
    sys::table c = sys::real();
    c.read = &counting_read;
    c.short_read_drains = false;
    c.multishot_recv = true;  // off in sys::real() for now (src/io/sys.cpp)
    return c;
  }();
  static const sys::table without = [] {
    sys::table c = with;
    c.multishot_recv = false;
    return c;
  }();
  return multishot ? with : without;
}

template <class Body>
void with_counting_seam(bool multishot, Body body) {
  bg::testing::with_seam_on_every_runtime(
      counting_table(multishot),
      [] {
        watched_fd.store(-1);
        empty_reads.store(0);
      },
      body);
  watched_fd.store(-1);
}

bool ring_reads(bg::io_backend b) {
  return b == bg::io_backend::io_uring && bg::testing::uring_completions_available();
}

/// Echoes `s` until the peer's end (reads of up to 64 bytes).
template <class Stream>
bg::task<> echo(Stream& s) {
  char buf[64];
  for (;;) {
    const std::size_t n = co_await s.read(buf);
    if (n == 0) co_return;
    co_await s.write_all(bn::const_buffer{buf, n});
  }
}

/// `rounds` request-response rounds with an echo server on `s` (its reads
/// wait for each request); returns the EAGAIN reads of the server's socket
/// after a first round (which armed the multishot).
template <class Stream>
bg::task<int> empty_reads_of_rounds_on(Stream c, Stream s, int rounds) {
  watched_fd.store(s.native_handle());
  auto server = bg::spawn(echo(s));
  int before = 0;
  for (int i = 0; i <= rounds; ++i) {
    if (i == 1) before = empty_reads.load();
    const std::string msg = message(i);
    co_await c.write_all(msg);
    std::string got(msg.size(), '\0');
    if (co_await c.read_exact(got) != got.size() || got != msg) co_return -1;
  }
  const int n = empty_reads.load() - before;
  watched_fd.store(-1);
  c.shutdown_write();
  co_await server;
  co_return n;
}

/// empty_reads_of_rounds_on a fresh TCP pair.
bg::task<int> empty_reads_of_rounds(int rounds) {
  auto [c, s] = co_await connected_pair();
  co_return co_await empty_reads_of_rounds_on(std::move(c), std::move(s), rounds);
}

/// sys::real() with the multishot on (it is off there for now,
/// src/io/sys.cpp): the RecvRing tests run the path they are about.
const sys::table& multishot_table() {
  static const sys::table t = [] {
    sys::table c = sys::real();
    c.multishot_recv = true;
    return c;
  }();
  return t;
}

}  // namespace

class RecvRing : public bg::testing::io_backend_test {
 protected:
  void SetUp() override { previous_ = sys::install(&multishot_table()); }
  void TearDown() override { sys::install(previous_); }

 private:
  const sys::table* previous_ = nullptr;
};
INSTANTIATE_TEST_SUITE_P(backend, RecvRing,
                         ::testing::Values(bg::io_backend::epoll, bg::io_backend::io_uring),
                         bg::testing::backend_param_name);

// Request-response rounds of messages of 1 to 150 bytes, echoed by a server
// whose reads take 7 bytes at a time (chunks consumed in parts and across
// messages): every byte comes back in order.
BRIGADE_IO_TEST(RecvRing, RequestResponseRoundsStayByteExact) {
  auto [c, s] = co_await connected_pair();
  auto server = bg::spawn([](bn::tcp_stream& st) -> bg::task<std::size_t> {
    std::size_t total = 0;
    char buf[7];
    for (;;) {
      const std::size_t n = co_await st.read(buf);
      if (n == 0) co_return total;
      total += n;
      co_await st.write_all(bn::const_buffer{buf, n});
    }
  }(s));
  std::size_t sent = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string msg = message(i);
    co_await c.write_all(msg);
    std::string back(msg.size(), '\0');
    bg::task<std::size_t> echoed = c.read_exact(back);
    const std::optional<std::size_t> n = co_await bounded(std::move(echoed));
    EXPECT_EQ(n.value_or(0), back.size()) << "round " << i;
    EXPECT_EQ(back, msg) << "round " << i;
    BRIGADE_CO_ASSERT(back == msg);
    sent += msg.size();
  }
  c.shutdown_write();
  EXPECT_EQ(co_await server, sent);
}

// 8 MiB, 16 times the buffer ring, after the server's read waited once (on
// io_uring the multishot is armed): chunks are capped per stream, the
// multishot is cancelled and re-armed along the way; byte-exact.
BRIGADE_IO_TEST(RecvRing, ATransferLargerThanTheRingIsByteExact) {
  constexpr std::size_t size = 8u << 20;
  auto [c, s] = co_await connected_pair();
  BRIGADE_CO_ASSERT(co_await read_after_a_wait(s, c, "go"));
  auto writer = bg::spawn([](bn::tcp_stream& st) -> bg::task<> {
    co_await write_pattern(st, size, 1);
    st.shutdown_write();
  }(c));
  bg::task<std::size_t> reading = read_pattern(s, size, 1);
  const std::optional<std::size_t> got = co_await bounded(std::move(reading));
  EXPECT_EQ(got.value_or(0), size);
  BRIGADE_CO_ASSERT(got == size);
  co_await writer;
}

// Twelve streams whose multishots are armed, then 256 KiB each while
// nobody reads: together they want more chunks than the ring has, so some
// multishots end with ENOBUFS (and go through a one-shot recv before they
// re-arm). Every stream is still read byte-exact.
BRIGADE_IO_TEST(RecvRing, StreamsThatRunTheRingDryLoseNothing) {
  constexpr int streams = 12;
  constexpr std::size_t size = 256u << 10;
  std::vector<std::pair<bn::tcp_stream, bn::tcp_stream>> pairs;
  for (int i = 0; i < streams; ++i) {
    pairs.push_back(co_await connected_pair());
    BRIGADE_CO_ASSERT(co_await read_after_a_wait(pairs.back().second, pairs.back().first, "go"));
  }
  std::vector<bg::join_handle<void>> writers;
  for (int i = 0; i < streams; ++i) {
    writers.push_back(bg::spawn([](bn::tcp_stream& st, int seed) -> bg::task<> {
      co_await write_pattern(st, size, seed);
      st.shutdown_write();
    }(pairs[static_cast<std::size_t>(i)].first, i)));
  }
  co_await bg::sleep(50ms);  // the kernel fills the queues (and the ring)
  for (int i = 0; i < streams; ++i) {
    bg::task<std::size_t> reading =
        read_pattern(pairs[static_cast<std::size_t>(i)].second, size, i);
    const std::optional<std::size_t> got = co_await bounded(std::move(reading));
    EXPECT_EQ(got.value_or(0), size) << "stream " << i;
    BRIGADE_CO_ASSERT(got == size);
  }
  for (auto& w : writers) co_await w;
}

// Reads aborted while they wait (or as their data arrives) take nothing:
// the next reads get every byte, in order. Some reads end by a timeout.
BRIGADE_IO_TEST(RecvRing, AbortedReadsLoseNoBytes) {
  auto [c, s] = co_await connected_pair();
  const std::string where = "read fd " + std::to_string(s.native_handle());
  std::string sent;
  std::string received;
  int cancelled = 0;
  for (int i = 0; i < 200; ++i) {
    if (i % 5 == 4) {
      // A short timeout, with or without bytes queued: a read that
      // completes as the timer fires keeps its bytes (try_timeout never
      // drops a finished operation's value).
      bg::task<std::string> attempt = read_some(s, 16);
      auto r = co_await bg::try_timeout(1ms, std::move(attempt));
      if (r) received += *r;
    }
    // Reads of 16 bytes leave parts of messages queued; reads of 4 KiB
    // empty the queue, so that the next reader waits.
    auto reader = bg::spawn(read_some(s, i % 2 == 0 ? 4096 : 16), "reader");
    if (i % 3 == 0 && received.size() == sent.size()) {
      EXPECT_TRUE(co_await bg::testing::until_parked("reader", where));
    } else {
      for (int k = 0; k < i % 4; ++k) co_await bg::yield_now();
    }
    const std::string msg = message(i);
    co_await c.write_all(msg);
    sent += msg;
    for (int k = 0; k < (i / 4) % 3; ++k) co_await bg::yield_now();
    reader.abort();
    try {
      received += co_await reader;
    } catch (const bg::cancelled&) {
      ++cancelled;
    }
  }
  while (received.size() < sent.size()) {
    bg::task<std::string> more = read_some(s, 4096);
    const std::optional<std::string> got = co_await bounded(std::move(more));
    BRIGADE_CO_ASSERT(got.has_value());  // bytes were lost
    received += *got;
  }
  EXPECT_EQ(received, sent);
  std::printf("[recv abort] %d of 200 reads cancelled\n", cancelled);
}

// The peer sends data, then resets: the data queued before the reset is
// read first, then the read fails with ECONNRESET.
BRIGADE_IO_TEST(RecvRing, PeerResetAfterDataReportsTheDataFirst) {
  auto [c, s] = co_await connected_pair();
  BRIGADE_CO_ASSERT(co_await read_after_a_wait(s, c, "go"));
  co_await c.write_all("partial");
  co_await bg::sleep(20ms);  // on io_uring: queued as a chunk
  const linger lg{1, 0};
  ::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  c.close();
  co_await bg::sleep(20ms);  // on io_uring: the error queued after it
  EXPECT_EQ(co_await read_some(s, 64), "partial");
  int err = 0;
  try {
    (void)co_await read_some(s, 64);
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, ECONNRESET);
}

// Half-close: the peer's FIN after its data ends the reads after every
// byte (and again for a later read); the other direction still works.
BRIGADE_IO_TEST(RecvRing, TheEndComesAfterTheData) {
  constexpr std::size_t size = 5000;
  auto [c, s] = co_await connected_pair();
  BRIGADE_CO_ASSERT(co_await read_after_a_wait(s, c, "go"));
  co_await write_pattern(c, size, 3);
  c.shutdown_write();
  co_await bg::sleep(20ms);  // on io_uring: data and end queued
  bg::task<std::size_t> reading = read_pattern(s, size, 3);
  EXPECT_EQ((co_await bounded(std::move(reading))).value_or(0), size);
  EXPECT_EQ(co_await read_some(s, 64), "");
  co_await s.write_all("bye");
  char bye[3];
  EXPECT_EQ(co_await c.read_exact(bye), 3u);
  EXPECT_EQ(std::string(bye, 3), "bye");
}

/// Reads `s` to its end; the bytes read, or nullopt when a read waited
/// more than 2 s.
template <class Stream>
bg::task<std::optional<std::size_t>> read_to_the_end(Stream& s) {
  std::size_t total = 0;
  char buf[16];
  for (;;) {
    const std::optional<std::size_t> n = co_await bg::try_timeout(2s, s.read(buf));
    if (!n) co_return std::nullopt;
    if (*n == 0) co_return total;
    total += *n;
  }
}

// AF_UNIX streams keep the one-shot recv (stream_ops.hpp, recv_mode): a
// multishot recv there may never post the peer's EOF (liburing #1549). 300
// pairs, each three small writes then the end, read to the end: on a
// multishot, 1 in about 70 ASan runs of Buffered.ReadsLinesAcrossSmallWrites
// hung this way.
/// Three small writes on `a`, then its end; `b` reads to the end.
template <class Stream>
bg::task<std::optional<std::size_t>> three_writes_then_the_end(Stream& a, Stream& b) {
  auto writer = bg::spawn([](Stream& s) -> bg::task<> {
    for (const char* piece : {"first li", "ne\r\nsecond", "\nthird line without end"}) {
      co_await s.write_all(piece);
      co_await bg::yield_now();
    }
    s.shutdown_write();
  }(a));
  const std::optional<std::size_t> n = co_await read_to_the_end(b);
  co_await writer;
  co_return n;
}

BRIGADE_IO_TEST(RecvRing, UnixStreamsSeeEveryEnd) {
  for (int i = 0; i < 300; ++i) {
    auto [a, b] = bn::unix_stream::pair();
    const std::optional<std::size_t> n = co_await three_writes_then_the_end(a, b);
    EXPECT_EQ(n, std::optional<std::size_t>(41)) << "pair " << i;
    BRIGADE_CO_ASSERT(n == std::optional<std::size_t>(41));
  }
}

// The same on TCP, which keeps the multishot: the kernel posts its end.
BRIGADE_IO_TEST(RecvRing, TcpStreamsSeeEveryEnd) {
  for (int i = 0; i < 300; ++i) {
    auto [a, b] = co_await connected_pair();
    const std::optional<std::size_t> n = co_await three_writes_then_the_end(a, b);
    EXPECT_EQ(n, std::optional<std::size_t>(41)) << "pair " << i;
    BRIGADE_CO_ASSERT(n == std::optional<std::size_t>(41));
  }
}

// 200 connections at once, each an echo of 10 rounds: byte-exact.
BRIGADE_IO_TEST(RecvRing, TwoHundredConnectionsStayByteExact) {
  constexpr int conns = 200;
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0", {.backlog = 256});
  auto server = bg::spawn([](bn::tcp_listener& lst) -> bg::task<> {
    for (int i = 0; i < conns; ++i) {
      auto a = co_await lst.accept();
      a.stream.set_nodelay(true);
      bg::spawn([](bn::tcp_stream st) -> bg::task<> {
        char buf[64];
        for (;;) {
          const std::size_t n = co_await st.read(buf);
          if (n == 0) co_return;
          co_await st.write_all(bn::const_buffer{buf, n});
        }
      }(std::move(a.stream)))
          .detach();
    }
  }(l));
  std::vector<bg::join_handle<bool>> clients;
  for (int i = 0; i < conns; ++i) {
    clients.push_back(bg::spawn([](bn::address to, int id) -> bg::task<bool> {
      auto c = co_await bn::tcp_stream::connect(to);
      c.set_nodelay(true);
      for (int r = 0; r < 10; ++r) {
        const std::string msg = message(id * 10 + r);
        co_await c.write_all(msg);
        std::string back(msg.size(), '\0');
        bg::task<std::size_t> echoed = c.read_exact(back);
        if (!co_await bounded(std::move(echoed)) || back != msg) co_return false;
      }
      co_return true;
    }(l.local_address(), i)));
  }
  int exact = 0;
  for (auto& h : clients) exact += (co_await h) ? 1 : 0;
  co_await server;
  EXPECT_EQ(exact, conns);
}

// The runtime stops while a stream's chunks are queued unread and another
// stream's reader waits with its multishot armed: the frames die, the
// streams close, the reactor ends the multishots. Fd and frame accounting
// (run_io_test) and LSan check that nothing is left.
BRIGADE_IO_TEST(RecvRing, ShutdownWithChunksQueuedLeaksNothing) {
  auto [c1, s1] = co_await connected_pair();
  auto [c2, s2] = co_await connected_pair();
  BRIGADE_CO_ASSERT(co_await read_after_a_wait(s1, c1, "go"));
  BRIGADE_CO_ASSERT(co_await read_after_a_wait(s2, c2, "go"));
  bg::spawn([](bn::tcp_stream st) -> bg::task<> {
    co_await bg::sleep(1h);  // holds its stream, never reads
    st.close();
  }(std::move(s1)))
      .detach();
  bg::spawn([](bn::tcp_stream st) -> bg::task<> {
    char buf[64];
    while (co_await st.read(buf) > 0) {
    }
  }(std::move(s2)))
      .detach();
  co_await write_pattern(c1, 20000, 4);
  co_await c2.write_all("more");
  co_await bg::sleep(20ms);
}

// The proof that the ring serves the reads: on io_uring, once the
// multishot is armed, request-response rounds read no empty socket (the
// seam counts the reads that say EAGAIN; the short-read hint is off). The
// control (multishot_recv off in the seam): about one per round, as on
// epoll. Its bound is a fifth (control_min): a request may come before the
// server's next read, on multi_thread and whenever the machine is loaded
// (an ASan loop beside another: 17 of 50), still far above the ring's 5.
constexpr int rounds = 100;
constexpr int control_min(int n) { return n / 5; }

TEST(RecvRingSeam, TheMultishotServesTheReadsWithoutTheSocket) {
  with_counting_seam(true, [](bg::io_backend b) -> bg::task<> {
    const int n = co_await empty_reads_of_rounds(rounds);
    if (ring_reads(b)) {
      // Next to the control's 50 or more: a multishot the kernel ends now
      // and then (a CQE without F_MORE) costs one re-arming read each
      // (ASan clean-clone run: 1 of 100).
      EXPECT_LE(n, 5) << "reads asked the socket";
    } else {
      EXPECT_GE(n, control_min(rounds));
    }
  });
  with_counting_seam(false, [](bg::io_backend) -> bg::task<> {
    EXPECT_GE(co_await empty_reads_of_rounds(rounds), control_min(rounds))
        << "the control lost its meaning";
  });
}

// The same rounds on an AF_UNIX pair, with the multishot on: the reads ask
// the socket (the one-shot path) on every backend.
TEST(RecvRingSeam, UnixStreamsKeepTheOneShotRecv) {
  with_counting_seam(true, [](bg::io_backend) -> bg::task<> {
    auto [c, s] = bn::unix_stream::pair();
    const int n = co_await empty_reads_of_rounds_on(std::move(c), std::move(s), rounds);
    EXPECT_GE(n, control_min(rounds)) << "a unix stream read through the multishot";
  });
}

// Closing streams with unread chunks returns their buffers to the ring: 20
// streams close with about 30 chunks each (more than the 256 buffers
// together), then a new stream's reads are still served by its multishot
// (a dry ring would end it with ENOBUFS at every wait, and each wait would
// ask the socket).
TEST(RecvRingSeam, ClosedStreamsGiveTheirBuffersBack) {
  with_counting_seam(true, [](bg::io_backend b) -> bg::task<> {
    for (int i = 0; i < 20; ++i) {
      auto [c, s] = co_await connected_pair();
      BRIGADE_CO_ASSERT(co_await read_after_a_wait(s, c, "go"));
      co_await write_pattern(c, 60000, i);
      co_await bg::sleep(5ms);  // on io_uring: queued as chunks
      s.close();
    }
    const int n = co_await empty_reads_of_rounds(50);
    if (ring_reads(b)) {
      // A dry ring would make every wait ask the socket (about 50, as the
      // control). A wait or two may still meet a ring that the last closed
      // streams' final chunks dry for a moment: their multishots are
      // cancelled asynchronously (ASan run: 1 of 50).
      EXPECT_LE(n, 5) << "the ring ran dry: closed streams kept their buffers";
    } else {
      EXPECT_GE(n, control_min(50));
    }
  });
}
