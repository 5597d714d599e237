#pragma once
// brigade::net::address: an IPv4 or IPv6 socket address (host + port),
// parsed from and printed as "127.0.0.1:8080" / "[::1]:80".

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace brigade::net {

/// An IPv4 or IPv6 address with a port. A value type (32 bytes).
///
/// Thread safety: a value; const members may be called concurrently.
/// Throws: parse() throws std::invalid_argument on malformed text.
/// Example:
///   auto a = brigade::net::address::parse("127.0.0.1:8080");
///   a.port();          // 8080
///   a.to_string();     // "127.0.0.1:8080"
class address {
 public:
  /// An empty address (family AF_UNSPEC).
  address() noexcept;

  /// Parses "a.b.c.d:port" or "[v6]:port" (numeric hosts only; use
  /// brigade::net::resolve for names). Throws std::invalid_argument.
  static address parse(std::string_view text);
  /// As parse(), nullopt instead of throwing.
  static std::optional<address> try_parse(std::string_view text) noexcept;
  /// A numeric host ("127.0.0.1", "::1") and a port. Throws std::invalid_argument.
  static address from_host(std::string_view host, std::uint16_t port);
  /// 127.0.0.1:port and [::1]:port.
  static address loopback_v4(std::uint16_t port) noexcept;
  static address loopback_v6(std::uint16_t port) noexcept;
  /// 0.0.0.0:port (every IPv4 interface).
  static address any_v4(std::uint16_t port) noexcept;
  /// From a kernel sockaddr (AF_INET or AF_INET6; anything else gives an
  /// empty address).
  static address from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

  bool is_v4() const noexcept { return storage_.v4.sin_family == AF_INET; }
  bool is_v6() const noexcept { return storage_.v6.sin6_family == AF_INET6; }
  bool empty() const noexcept { return !is_v4() && !is_v6(); }
  int family() const noexcept { return storage_.v4.sin_family; }

  std::uint16_t port() const noexcept;
  /// The same host with another port.
  address with_port(std::uint16_t port) const noexcept;
  /// The host alone: "127.0.0.1", "::1".
  std::string host() const;
  /// "127.0.0.1:8080", "[::1]:80"; "(empty)" for an empty address.
  std::string to_string() const;

  const sockaddr* data() const noexcept { return &storage_.any; }
  socklen_t size() const noexcept;

  friend bool operator==(const address& a, const address& b) noexcept;

 private:
  union storage {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } storage_;
};

}  // namespace brigade::net
