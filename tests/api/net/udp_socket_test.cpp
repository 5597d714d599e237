#include <brigade/net/udp_socket.hpp>

#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <string>

namespace bg = brigade;
namespace bn = brigade::net;

BRIGADE_IO_SUITE(UdpSocket);

BRIGADE_IO_TEST(UdpSocket, SendToRecvFromAndConnected) {
  auto a = co_await bn::udp_socket::bind("127.0.0.1:0");
  auto b = co_await bn::udp_socket::bind(bn::address::loopback_v4(0));
  // b waits first: the receive suspends until the datagram arrives.
  auto rx = bg::spawn([](bn::udp_socket& s) -> bg::task<std::string> {
    char buf[64];
    auto [n, from] = co_await s.recv_from(buf);
    co_return std::string(buf, n) + "@" + std::to_string(from.port());
  }(b));
  for (int i = 0; i < 3; ++i) co_await bg::yield_now();
  EXPECT_EQ(co_await a.send_to("datagram", b.local_address()), 8u);
  EXPECT_EQ(co_await rx, "datagram@" + std::to_string(a.local_address().port()));
  a.connect(b.local_address());
  b.connect(a.local_address());
  EXPECT_EQ(co_await b.send("pong"), 4u);
  char buf[16];
  EXPECT_EQ(co_await a.recv(buf), 4u);
  EXPECT_EQ(std::string(buf, 4), "pong");
}
