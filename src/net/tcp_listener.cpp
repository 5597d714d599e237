// brigade::net::tcp_listener.

#include <brigade/net/resolve.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/time/sleep.hpp>

#include "net/accept_ops.hpp"
#include "net/stream_ops.hpp"

#include <brigade/detail/sys.hpp>
#include <brigade/spawn.hpp>

#include <sys/socket.h>
#include <algorithm>
#include <cerrno>
#include <system_error>

namespace brigade::net {

using brigade::detail::io_interest;
using brigade::detail::op_target;

namespace {

/// Out of descriptors or kernel memory: wait and try again rather than fail
/// the accept loop (DESIGN §6).
bool is_resource_exhaustion(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/// The connection went away before we took it: just take the next one.
bool is_transient(int err) noexcept {
  return err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM;
}

}  // namespace

task<tcp_listener> tcp_listener::bind(address local, listen_options options) {
  if (local.empty()) throw std::invalid_argument("tcp_listener::bind: empty address");
  if (options.backlog <= 0) throw std::invalid_argument("tcp_listener::bind: backlog <= 0");
  tcp_listener l;
  l.local_ = local;
  const op_target target{&l.local_, nullptr};
  l.reg_ = brigade::detail::open_registered_socket(local.family(), SOCK_STREAM, "bind", target);
  const int fd = l.reg_.fd();
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
    brigade::detail::throw_io_error(errno, "setsockopt SO_REUSEADDR", target);
  }
  if (options.reuse_port == reuse_port::on &&
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    brigade::detail::throw_io_error(errno, "setsockopt SO_REUSEPORT", target);
  }
  if (::bind(fd, local.data(), local.size()) != 0) {
    brigade::detail::throw_io_error(errno, "bind", target);
  }
  if (::listen(fd, options.backlog) != 0) brigade::detail::throw_io_error(errno, "listen", target);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    l.local_ = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  }
  co_return l;
}

task<tcp_listener> tcp_listener::bind(std::string_view host_port, listen_options options) {
  if (auto a = address::try_parse(host_port)) co_return co_await bind(*a, options);
  auto [host, port] = brigade::detail::split_host_port(host_port);
  const std::vector<address> candidates = co_await resolve(host, port);
  co_return co_await bind(candidates.front(), options);
}

task<accepted> tcp_listener::accept() {
  auto guard = reg_.begin(io_interest::read, "tcp_listener::accept");
  co_await brigade::consume_budget();
  auto backoff = std::chrono::duration_cast<duration>(min_backoff);
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd =
        co_await brigade::detail::accept_fd(reg_, queue_, reinterpret_cast<sockaddr*>(&ss), &len);
    int err = 0;
    if (fd >= 0) {
      const address peer = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
      try {
        co_return accepted{tcp_stream::adopt(fd, peer), peer};
      } catch (const std::system_error& e) {
        // adopt closed the fd; the driver could not register it.
        err = e.code().value();
        if (!is_resource_exhaustion(err)) throw;
      }
    } else {
      err = -fd;
    }
    if (is_transient(err)) continue;
    if (!is_resource_exhaustion(err)) {
      brigade::detail::throw_io_error(err, "accept", op_target{&local_, nullptr});
    }
    // Out of descriptors: the connection stays in the backlog; retry later
    // (no readiness edge will come for it, so sleep, do not wait).
    co_await brigade::sleep(backoff);
    backoff = std::min<duration>(backoff * 2, std::chrono::duration_cast<duration>(max_backoff));
  }
}

}  // namespace brigade::net
