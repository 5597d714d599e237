#include <brigade/net/address.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace bn = brigade::net;

TEST(Address, ParsesAndPrintsIpv4) {
  const auto a = bn::address::parse("127.0.0.1:8080");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.port(), 8080);
  EXPECT_EQ(a.host(), "127.0.0.1");
  EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(a, bn::address::loopback_v4(8080));
}

TEST(Address, ParsesAndPrintsIpv6) {
  const auto a = bn::address::parse("[::1]:80");
  EXPECT_TRUE(a.is_v6());
  EXPECT_EQ(a.port(), 80);
  EXPECT_EQ(a.to_string(), "[::1]:80");
  EXPECT_EQ(a, bn::address::loopback_v6(80));
  EXPECT_EQ(bn::address::parse("[fe80::1:2]:65535").to_string(), "[fe80::1:2]:65535");
}

TEST(Address, RejectsMalformedText) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:4", "::1:80", "[::1]80",
        "[::1]:", "[127.0.0.1]:80", "localhost:80", "1.2.3.4:-1", "1.2.3.4:8x", "[::1:80"}) {
    EXPECT_THROW(bn::address::parse(bad), std::invalid_argument) << bad;
    EXPECT_FALSE(bn::address::try_parse(bad).has_value()) << bad;
  }
}

TEST(Address, EmptyAndWithPort) {
  const bn::address e;
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.port(), 0);
  EXPECT_EQ(e.to_string(), "(empty)");
  const auto a = bn::address::from_host("10.0.0.1", 1).with_port(2);
  EXPECT_EQ(a.to_string(), "10.0.0.1:2");
  EXPECT_NE(a, bn::address::from_host("10.0.0.1", 1));
  EXPECT_THROW(bn::address::from_host("nope", 1), std::invalid_argument);
}
