// brigade::net::address: parsing and printing.

#include <brigade/net/address.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace brigade::net {

namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) noexcept {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<address> host_port(std::string_view host, std::uint16_t port) noexcept {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char text[INET6_ADDRSTRLEN];
  std::memcpy(text, host.data(), host.size());
  text[host.size()] = '\0';
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, text, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    return address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, text, &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    return address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  }
  return std::nullopt;
}

}  // namespace

address::address() noexcept { std::memset(&storage_, 0, sizeof storage_); }

std::optional<address> address::try_parse(std::string_view text) noexcept {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    std::optional<address> a;
    if (auto p = parse_port(port)) a = host_port(host, *p);
    if (!a || !a->is_v6()) return std::nullopt;
    return a;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  const auto p = parse_port(port);
  if (!p) return std::nullopt;
  std::optional<address> a = host_port(host, *p);
  if (!a || !a->is_v4()) return std::nullopt;  // bare IPv6 needs brackets
  return a;
}

address address::parse(std::string_view text) {
  if (auto a = try_parse(text)) return *a;
  throw std::invalid_argument("brigade::net::address: cannot parse \"" + std::string(text) +
                              "\" (expected \"1.2.3.4:port\" or \"[v6]:port\")");
}

address address::from_host(std::string_view host, std::uint16_t port) {
  if (auto a = host_port(host, port)) return *a;
  throw std::invalid_argument("brigade::net::address: not a numeric host: \"" + std::string(host) +
                              "\"");
}

address address::loopback_v4(std::uint16_t port) noexcept {
  address a;
  a.storage_.v4.sin_family = AF_INET;
  a.storage_.v4.sin_port = htons(port);
  a.storage_.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

address address::loopback_v6(std::uint16_t port) noexcept {
  address a;
  a.storage_.v6.sin6_family = AF_INET6;
  a.storage_.v6.sin6_port = htons(port);
  a.storage_.v6.sin6_addr = in6addr_loopback;
  return a;
}

address address::any_v4(std::uint16_t port) noexcept {
  address a;
  a.storage_.v4.sin_family = AF_INET;
  a.storage_.v4.sin_port = htons(port);
  a.storage_.v4.sin_addr.s_addr = htonl(INADDR_ANY);
  return a;
}

address address::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  address a;
  if (sa == nullptr) return a;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&a.storage_.v4, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&a.storage_.v6, sa, sizeof(sockaddr_in6));
  }
  return a;
}

std::uint16_t address::port() const noexcept {
  if (is_v4()) return ntohs(storage_.v4.sin_port);
  if (is_v6()) return ntohs(storage_.v6.sin6_port);
  return 0;
}

address address::with_port(std::uint16_t port) const noexcept {
  address a = *this;
  if (is_v4()) a.storage_.v4.sin_port = htons(port);
  if (is_v6()) a.storage_.v6.sin6_port = htons(port);
  return a;
}

std::string address::host() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    ::inet_ntop(AF_INET, &storage_.v4.sin_addr, text, sizeof text);
  } else if (is_v6()) {
    ::inet_ntop(AF_INET6, &storage_.v6.sin6_addr, text, sizeof text);
  }
  return text;
}

std::string address::to_string() const {
  if (is_v4()) return host() + ":" + std::to_string(port());
  if (is_v6()) return "[" + host() + "]:" + std::to_string(port());
  return "(empty)";
}

socklen_t address::size() const noexcept {
  if (is_v4()) return sizeof(sockaddr_in);
  if (is_v6()) return sizeof(sockaddr_in6);
  return 0;
}

bool operator==(const address& a, const address& b) noexcept {
  if (a.family() != b.family()) return false;
  if (a.is_v4()) {
    return a.storage_.v4.sin_port == b.storage_.v4.sin_port &&
           a.storage_.v4.sin_addr.s_addr == b.storage_.v4.sin_addr.s_addr;
  }
  if (a.is_v6()) {
    return a.storage_.v6.sin6_port == b.storage_.v6.sin6_port &&
           std::memcmp(&a.storage_.v6.sin6_addr, &b.storage_.v6.sin6_addr, sizeof(in6_addr)) == 0 &&
           a.storage_.v6.sin6_scope_id == b.storage_.v6.sin6_scope_id;
  }
  return true;
}

}  // namespace brigade::net
