// brigade::net::resolve: getaddrinfo on the runtime's blocking pool.
// Numeric hosts never leave the caller's thread.

#include <brigade/net/resolve.hpp>
#include <brigade/spawn_blocking.hpp>

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>

namespace brigade::net {

namespace {

class gai_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

const std::error_category& gai_category() noexcept {
  static const gai_category_impl instance;
  return instance;
}

std::vector<address> lookup(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    if (rc == EAI_SYSTEM) throw std::system_error(errno, std::system_category(), "resolve " + host);
    throw std::system_error(rc, gai_category(), "resolve " + host);
  }
  std::vector<address> out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    const address a = address::from_sockaddr(ai->ai_addr, ai->ai_addrlen).with_port(port);
    if (!a.empty() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeaddrinfo(list);
  if (out.empty()) throw std::system_error(EAI_NONAME, gai_category(), "resolve " + host);
  return out;
}

}  // namespace

task<std::vector<address>> resolve(std::string host, std::uint16_t port) {
  if (auto a = address::try_parse(host.find(':') != std::string::npos && host.front() != '['
                                      ? "[" + host + "]:0"
                                      : host + ":0")) {
    co_return std::vector<address>{a->with_port(port)};
  }
  if (host.empty()) throw std::invalid_argument("brigade::net::resolve: empty host");
  // Named, not a temporary inside the co_await expression: g++ 12 destroys
  // such temporaries twice (a lambda's captures freed twice under ASan).
  auto job = [host, port] { return lookup(host, port); };
  auto pending = spawn_blocking(std::move(job));
  co_return co_await pending;
}

}  // namespace brigade::net
