#include <brigade/net/tcp_stream.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"
#include "support/helpers.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;

namespace {

std::vector<char> pattern(std::size_t n, unsigned seed) {
  std::vector<char> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<char>((i * 131 + seed * 7) % 251);
  return v;
}

/// A connected pair over loopback: {client side, server side}.
bg::task<std::pair<bn::tcp_stream, bn::tcp_stream>> connected_pair(
    bn::address where = bn::address::loopback_v4(0)) {
  auto l = co_await bn::tcp_listener::bind(where);
  auto accepting = bg::spawn(l.accept());
  auto c = co_await bn::tcp_stream::connect(l.local_address());
  auto a = co_await accepting;
  co_return std::pair{std::move(c), std::move(a.stream)};
}

bg::task<> echo_once(bn::tcp_stream s) {
  std::vector<char> buf(4096);
  for (;;) {
    const std::size_t n = co_await s.read(buf);
    if (n == 0) co_return;
    co_await s.write_all(bn::const_buffer{buf.data(), n});
  }
}

}  // namespace

BRIGADE_IO_SUITE(TcpStream);

BRIGADE_IO_TEST(TcpStream, EchoesBytesExactly) {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  auto server = bg::spawn([](bn::tcp_listener& lst) -> bg::task<> {
    auto [s, peer] = co_await lst.accept();
    EXPECT_EQ(peer.host(), "127.0.0.1");
    co_await echo_once(std::move(s));
  }(l));
  auto c = co_await bn::tcp_stream::connect(l.local_address());
  EXPECT_EQ(c.peer_address(), l.local_address());
  EXPECT_EQ(c.local_address().host(), "127.0.0.1");
  c.set_nodelay(true);
  const auto out = pattern(100000, 1);
  std::vector<char> in(out.size());
  auto writer = bg::spawn([](bn::tcp_stream& s, const std::vector<char>& data) -> bg::task<> {
    co_await s.write_all(data);
    s.shutdown_write();
  }(c, out));
  EXPECT_EQ(co_await c.read_exact(in), in.size());
  co_await writer;
  EXPECT_TRUE(in == out);
  char extra;
  EXPECT_EQ(co_await c.read(bn::mutable_buffer{&extra, 1}), 0u);  // EOF after the echo
  co_await server;
}

BRIGADE_IO_TEST(TcpStream, HalfCloseGetsTheFullReplyThenEof) {
  auto [c, s] = co_await connected_pair();
  auto server = bg::spawn([](bn::tcp_stream srv) -> bg::task<> {
    std::string got;
    char buf[100];
    for (;;) {
      const std::size_t n = co_await srv.read(buf);
      if (n == 0) break;
      got.append(buf, n);
    }
    EXPECT_EQ(got, "request");
    co_await srv.write_all("reply: " + got);
    srv.close();  // a parameter lives as long as the frame: close it now
  }(std::move(s)));
  co_await c.write_all("request");
  c.shutdown_write();
  std::string reply(14, '\0');
  EXPECT_EQ(co_await c.read_exact(reply), 14u);
  EXPECT_EQ(reply, "reply: request");
  char more[4];
  EXPECT_EQ(co_await c.read_exact(more), 0u);
  co_await server;
}

BRIGADE_IO_TEST(TcpStream, ConnectionRefusedNamesTheAddress) {
  bn::address gone;
  {
    auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
    gone = l.local_address();
  }
  try {
    co_await bn::tcp_stream::connect(gone);
    ADD_FAILURE() << "connect succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_NE(std::string(e.what()).find("connect " + gone.to_string()), std::string::npos)
        << e.what();
  }
}

BRIGADE_IO_TEST(TcpStream, CancelledReadLosesNothing) {
  auto [c, s] = co_await connected_pair();
  auto reader = bg::spawn([](bn::tcp_stream& st) -> bg::task<std::size_t> {
    char buf[16];
    co_return co_await st.read(buf);
  }(c));
  for (int i = 0; i < 10; ++i) co_await bg::yield_now();
  reader.abort();
  bool cancelled = false;
  try {
    co_await reader;
  } catch (const bg::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  co_await s.write_all("after");
  char buf[5];
  EXPECT_EQ(co_await c.read_exact(buf), 5u);
  EXPECT_EQ(std::string(buf, 5), "after");
}

BRIGADE_IO_TEST(TcpStream, TwoConcurrentReadersIsALogicError) {
  auto [c, s] = co_await connected_pair();
  auto first = bg::spawn(
      [](bn::tcp_stream& st) -> bg::task<std::size_t> {
        char buf[4];
        co_return co_await st.read(buf);
      }(c),
      "first-reader");
  // The first read must be the one waiting (else ours would wait instead,
  // for a byte written only after it).
  const std::string where = "read fd " + std::to_string(c.native_handle());
  BRIGADE_CO_ASSERT(co_await bg::testing::until_parked("first-reader", where));
  char buf[4];
  EXPECT_THROW(co_await c.read(buf), std::logic_error);
  co_await s.write_all("x");
  EXPECT_EQ(co_await first, 1u);
}

BRIGADE_IO_TEST(TcpStream, FullDuplexLargeTransfers) {
  auto [c, s] = co_await connected_pair();
  constexpr std::size_t size = 1 << 20;
  const auto a_to_b = pattern(size, 2);
  const auto b_to_a = pattern(size, 3);
  auto w1 = bg::spawn([](bn::tcp_stream& st, const std::vector<char>& d) -> bg::task<> {
    co_await st.write_all(d);
  }(c, a_to_b));
  auto w2 = bg::spawn([](bn::tcp_stream& st, const std::vector<char>& d) -> bg::task<> {
    co_await st.write_all(d);
  }(s, b_to_a));
  auto r1 = bg::spawn([](bn::tcp_stream& st) -> bg::task<std::vector<char>> {
    std::vector<char> v(size);
    co_await st.read_exact(v);
    co_return v;
  }(s));
  std::vector<char> got(size);
  EXPECT_EQ(co_await c.read_exact(got), size);
  EXPECT_TRUE(got == b_to_a);
  EXPECT_TRUE(co_await r1 == a_to_b);
  co_await w1;
  co_await w2;
}

BRIGADE_IO_TEST(TcpStream, ResetMidStreamFailsOnlyThatStream) {
  auto [c, s] = co_await connected_pair();
  co_await s.write_all("partial");
  // An abortive close: the peer vanishes with an RST.
  const linger lg{1, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  s.close();
  std::vector<char> buf(64);
  int err = 0;
  try {
    for (int i = 0; i < 100; ++i) {
      if (co_await c.read(buf) == 0) break;
    }
    for (int i = 0; i < 100; ++i) co_await c.write_all("more data");
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << err;
  // Another connection of the same runtime is unaffected.
  auto [c2, s2] = co_await connected_pair();
  co_await c2.write_all("ok");
  char two[2];
  EXPECT_EQ(co_await s2.read_exact(two), 2u);
}

BRIGADE_IO_TEST(TcpStream, Ipv6Loopback) {
  std::pair<bn::tcp_stream, bn::tcp_stream> p;
  try {
    p = co_await connected_pair(bn::address::loopback_v6(0));
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "no IPv6 loopback here: %s\n", e.what());
    co_return;
  }
  co_await p.first.write_all("v6");
  char buf[2];
  EXPECT_EQ(co_await p.second.read_exact(buf), 2u);
  EXPECT_TRUE(p.first.peer_address().is_v6());
}

BRIGADE_IO_TEST(TcpStream, ConnectByStringAndBadText) {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  auto accepting = bg::spawn(l.accept());
  auto c = co_await bn::tcp_stream::connect(l.local_address().to_string());
  auto a = co_await accepting;
  EXPECT_EQ(a.peer, c.local_address());
  EXPECT_THROW(co_await bn::tcp_stream::connect("127.0.0.1"), std::invalid_argument);
}
