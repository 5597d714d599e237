// UDP on both backends, with the receiver (or sender) waiting: on io_uring
// the datagram operation goes to the ring after the first EAGAIN
// (IORING_OP_RECVMSG/SENDMSG, RECV/SEND when connected); on epoll it waits
// for readiness and retries. Datagrams must arrive byte-exact with their
// sender's address, an abort must end a waiting receive exactly once, and a
// datagram longer than the buffer is truncated to it (the rest discarded).

#include <brigade/cancelled.hpp>
#include <brigade/detail/sys.hpp>
#include <brigade/net/udp_socket.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;
namespace sys = brigade::detail::sys;

namespace {

// A seam table that watches one fd: counts the receives that found it
// empty (EAGAIN) and the ones that returned data, and can make the next
// send_to fail with a spurious EAGAIN. Statics: the driver thread may be
// inside a wrapper while the test body changes them.
std::atomic<int> watched_fd{-1};
std::atomic<int> empty_receives{0};
std::atomic<int> data_receives{0};
std::atomic<int> refuse_sends{0};
std::atomic<int> sends_tried{0};

void count_receive(int fd, ssize_t n) {
  if (fd != watched_fd.load()) return;
  if (n >= 0) {
    data_receives.fetch_add(1);
  } else if (errno == EAGAIN) {
    empty_receives.fetch_add(1);
  }
}

ssize_t watching_recvfrom(int fd, void* buf, std::size_t len, int flags, sockaddr* from,
                          socklen_t* from_len) {
  const ssize_t n = sys::real().recvfrom(fd, buf, len, flags, from, from_len);
  const int err = errno;
  count_receive(fd, n);
  errno = err;
  return n;
}

ssize_t watching_recv(int fd, void* buf, std::size_t len, int flags) {
  const ssize_t n = sys::real().recv(fd, buf, len, flags);
  const int err = errno;
  count_receive(fd, n);
  errno = err;
  return n;
}

ssize_t refusing_sendto(int fd, const void* buf, std::size_t len, int flags, const sockaddr* to,
                        socklen_t to_len) {
  if (fd == watched_fd.load()) sends_tried.fetch_add(1);
  if (fd == watched_fd.load() && refuse_sends.load() > 0) {
    refuse_sends.fetch_sub(1);
    errno = EAGAIN;
    return -1;
  }
  return sys::real().sendto(fd, buf, len, flags, to, to_len);
}

ssize_t refusing_send(int fd, const void* buf, std::size_t len, int flags) {
  if (fd == watched_fd.load()) sends_tried.fetch_add(1);
  if (fd == watched_fd.load() && refuse_sends.load() > 0) {
    refuse_sends.fetch_sub(1);
    errno = EAGAIN;
    return -1;
  }
  return sys::real().send(fd, buf, len, flags);
}

const sys::table& watching_table() {
  static const sys::table t = [] {
    sys::table c = sys::real();
    c.recvfrom = &watching_recvfrom;
    c.recv = &watching_recv;
    c.sendto = &refusing_sendto;
    c.send = &refusing_send;
    return c;
  }();
  return t;
}

/// Runs `body(backend)` on every available backend and both flavors with
/// the watching seam installed.
template <class Body>
void on_every_runtime(Body body, bool uring_only = false) {
  bg::testing::with_seam_on_every_runtime(
      watching_table(),
      [] {
        watched_fd.store(-1);
        empty_receives.store(0);
        data_receives.store(0);
        refuse_sends.store(0);
        sends_tried.store(0);
      },
      body, uring_only);
  watched_fd.store(-1);
}

/// Datagram `i`: a size from 1 to 1,400 bytes and bytes derived from i.
std::string datagram(int i) {
  std::string d(static_cast<std::size_t>(1 + (i * 37) % 1400), '\0');
  for (std::size_t k = 0; k < d.size(); ++k) d[k] = static_cast<char>((i * 131 + k * 7) & 0xff);
  return d;
}

/// Waits (yielding) until the receiver has found its socket empty once
/// more than `seen` times: it is now waiting.
bg::task<> until_waiting(int seen) {
  while (empty_receives.load() <= seen) co_await bg::yield_now();
}

}  // namespace

// 100 datagrams each way (recv_from, then connected recv), each sent while
// the receiver waits. On io_uring every one arrives through the ring: no
// receive syscall on the watched fd returns data.
TEST(UdpRing, WaitingReceivesGetByteExactDatagrams) {
  on_every_runtime([](bg::io_backend backend) -> bg::task<> {
    constexpr int count = 100;
    auto a = co_await bn::udp_socket::bind("127.0.0.1:0");
    auto b = co_await bn::udp_socket::bind("127.0.0.1:0");
    watched_fd.store(b.native_handle());
    auto rx = bg::spawn([](bn::udp_socket& s, bn::address expected) -> bg::task<int> {
      std::vector<char> buf(2048);
      int ok = 0;
      for (int i = 0; i < count; ++i) {
        auto [n, from] = co_await s.recv_from(bn::mutable_buffer{buf.data(), buf.size()});
        if (std::string(buf.data(), n) == datagram(i) && from == expected) ++ok;
      }
      s.connect(expected);
      for (int i = count; i < 2 * count; ++i) {
        const std::size_t n = co_await s.recv(bn::mutable_buffer{buf.data(), buf.size()});
        if (std::string(buf.data(), n) == datagram(i)) ++ok;
      }
      co_return ok;
    }(b, a.local_address()));
    for (int i = 0; i < 2 * count; ++i) {
      co_await until_waiting(i);
      const std::string d = datagram(i);
      EXPECT_EQ(co_await a.send_to(d, b.local_address()), d.size());
    }
    EXPECT_EQ(co_await rx, 2 * count);
    if (backend == bg::io_backend::io_uring && bg::testing::uring_completions_available()) {
      EXPECT_EQ(empty_receives.load(), 2 * count);
      EXPECT_EQ(data_receives.load(), 0) << "a waiting receive retried its syscall";
    } else {
      // Readiness: each wait ends with a retry that gets the datagram.
      EXPECT_GE(empty_receives.load(), 2 * count);
      EXPECT_EQ(data_receives.load(), 2 * count);
    }
  });
}

// io_uring: a send_to that sees EAGAIN (injected) goes to the ring as a
// SENDMSG with the destination address, and a connected send as a SEND:
// one syscall each (the refused one), no retry.
TEST(UdpRing, SendAfterEagainGoesThroughTheRing) {
  on_every_runtime(
      [](bg::io_backend) -> bg::task<> {
        auto a = co_await bn::udp_socket::bind("127.0.0.1:0");
        auto b = co_await bn::udp_socket::bind("127.0.0.1:0");
        watched_fd.store(a.native_handle());
        refuse_sends.store(1);
        EXPECT_EQ(co_await a.send_to("through the ring", b.local_address()), 16u);
        EXPECT_EQ(refuse_sends.load(), 0) << "the first sendto was not refused";
        EXPECT_EQ(sends_tried.load(), 1) << "the send was retried as a syscall, not on the ring";
        char buf[64];
        auto [n, from] = co_await b.recv_from(buf);
        EXPECT_EQ(std::string(buf, n), "through the ring");
        EXPECT_EQ(from, a.local_address());
        // Connected: a SEND on the ring.
        a.connect(b.local_address());
        refuse_sends.store(1);
        EXPECT_EQ(co_await a.send("connected"), 9u);
        auto [n2, from2] = co_await b.recv_from(buf);
        EXPECT_EQ(std::string(buf, n2), "connected");
        EXPECT_EQ(sends_tried.load(), 2);
      },
      /*uring_only=*/true);
}

// A datagram longer than the buffer: the receive returns buf.size() bytes
// (the datagram's head) and the rest is discarded; the next datagram is
// whole. Both with the datagram already queued (the syscall) and with the
// receiver waiting (io_uring: the ring).
TEST(UdpRing, LongDatagramsAreTruncatedToTheBuffer) {
  on_every_runtime([](bg::io_backend) -> bg::task<> {
    auto a = co_await bn::udp_socket::bind("127.0.0.1:0");
    auto b = co_await bn::udp_socket::bind("127.0.0.1:0");
    watched_fd.store(b.native_handle());
    const std::string long_one = datagram(5);  // 186 bytes
    EXPECT_GT(long_one.size(), 10u);
    // Queued before the receive.
    co_await a.send_to(long_one, b.local_address());
    co_await a.send_to("next", b.local_address());
    char small[10];
    auto [n1, from1] = co_await b.recv_from(small);
    EXPECT_EQ(n1, sizeof small);
    EXPECT_EQ(std::string(small, n1), long_one.substr(0, sizeof small));
    char buf[64];
    auto [n2, from2] = co_await b.recv_from(buf);
    EXPECT_EQ(std::string(buf, n2), "next");
    // The receiver waits first.
    const int seen = empty_receives.load();
    auto rx = bg::spawn([](bn::udp_socket& s) -> bg::task<std::string> {
      char tiny[10];
      auto [n, from] = co_await s.recv_from(tiny);
      co_return std::string(tiny, n);
    }(b));
    co_await until_waiting(seen);
    co_await a.send_to(long_one, b.local_address());
    EXPECT_EQ(co_await rx, long_one.substr(0, 10));
    co_await a.send_to("after", b.local_address());
    auto [n3, from3] = co_await b.recv_from(buf);
    EXPECT_EQ(std::string(buf, n3), "after");
  });
}

// An abort races the arrival of the datagram a receive waits for: the
// receive either returns it or throws brigade::cancelled, and then the
// datagram is still queued. Nothing lost, nothing doubled (datagram i
// carries i).
TEST(UdpRing, AbortedReceiveCompletesExactlyOnce) {
  on_every_runtime([](bg::io_backend) -> bg::task<> {
    constexpr int rounds = 2000;
    auto a = co_await bn::udp_socket::bind("127.0.0.1:0");
    auto b = co_await bn::udp_socket::bind("127.0.0.1:0");
    int completed = 0;
    int cancelled = 0;
    for (int i = 0; i < rounds; ++i) {
      auto rx = bg::spawn([](bn::udp_socket& s) -> bg::task<std::uint32_t> {
        std::uint32_t v = 0;
        auto [n, from] = co_await s.recv_from(bn::mutable_buffer{&v, sizeof v});
        EXPECT_EQ(n, sizeof v);
        co_return v;
      }(b));
      co_await bg::yield_now();
      const auto value = static_cast<std::uint32_t>(i);
      auto tx = bg::spawn([](bn::udp_socket& s, bn::address to, std::uint32_t v) -> bg::task<> {
        co_await s.send_to(bn::const_buffer{&v, sizeof v}, to);
      }(a, b.local_address(), value));
      rx.abort();
      co_await tx;
      bool was_cancelled = false;
      try {
        EXPECT_EQ(co_await rx, value);
        ++completed;
      } catch (const bg::cancelled&) {
        was_cancelled = true;
      }
      if (was_cancelled) {
        ++cancelled;
        std::uint32_t v = 0;
        auto [n, from] = co_await b.recv_from(bn::mutable_buffer{&v, sizeof v});
        EXPECT_EQ(n, sizeof v);
        EXPECT_EQ(v, value);
      }
    }
    EXPECT_EQ(completed + cancelled, rounds);
  });
}
