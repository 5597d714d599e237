// brigade::net::udp_socket.

#include <brigade/net/resolve.hpp>
#include <brigade/net/udp_socket.hpp>

#include "net/stream_ops.hpp"

#include <brigade/detail/sys.hpp>
#include <brigade/spawn.hpp>

#include <sys/socket.h>
#include <cerrno>

namespace brigade::net {

using brigade::detail::io_interest;
using brigade::detail::op_target;

namespace {

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

task<udp_socket> udp_socket::bind(address local) {
  if (local.empty()) throw std::invalid_argument("udp_socket::bind: empty address");
  udp_socket u;
  u.local_ = local;
  u.reg_ = brigade::detail::open_registered_socket(local.family(), SOCK_DGRAM, "bind",
                                                   op_target{&u.local_, nullptr});
  if (::bind(u.reg_.fd(), local.data(), local.size()) != 0) {
    brigade::detail::throw_io_error(errno, "bind", op_target{&u.local_, nullptr});
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(u.reg_.fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    u.local_ = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  }
  co_return u;
}

task<udp_socket> udp_socket::bind(std::string_view host_port) {
  if (auto a = address::try_parse(host_port)) co_return co_await bind(*a);
  auto [host, port] = brigade::detail::split_host_port(host_port);
  const std::vector<address> candidates = co_await resolve(host, port);
  co_return co_await bind(candidates.front());
}

task<std::size_t> udp_socket::send_to(const_buffer buf, address peer) {
  auto guard = reg_.begin(io_interest::write, "udp_socket::send_to");
  co_await brigade::consume_budget();
  for (;;) {
    const std::uint32_t ticket = reg_.ticket(io_interest::write);
    const ssize_t n = brigade::detail::sys::get().sendto(reg_.fd(), buf.data(), buf.size(),
                                                         MSG_NOSIGNAL, peer.data(), peer.size());
    if (n >= 0) co_return static_cast<std::size_t>(n);
    const int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) brigade::detail::throw_io_error(err, "send_to", op_target{&peer});
    co_await reg_.ready(io_interest::write, ticket);
  }
}

task<received_from> udp_socket::recv_from(mutable_buffer buf) {
  auto guard = reg_.begin(io_interest::read, "udp_socket::recv_from");
  co_await brigade::consume_budget();
  for (;;) {
    const std::uint32_t ticket = reg_.ticket(io_interest::read);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const ssize_t n = brigade::detail::sys::get().recvfrom(reg_.fd(), buf.data(), buf.size(), 0,
                                                           reinterpret_cast<sockaddr*>(&ss), &len);
    if (n >= 0) {
      co_return received_from{static_cast<std::size_t>(n),
                              address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len)};
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) brigade::detail::throw_io_error(err, "recv_from", op_target{&local_});
    co_await reg_.ready(io_interest::read, ticket);
  }
}

void udp_socket::connect(address peer) {
  if (::connect(reg_.fd(), peer.data(), peer.size()) != 0) {
    brigade::detail::throw_io_error(errno, "connect", op_target{&peer});
  }
  peer_ = peer;
}

task<std::size_t> udp_socket::send(const_buffer buf) {
  auto guard = reg_.begin(io_interest::write, "udp_socket::send");
  co_await brigade::consume_budget();
  for (;;) {
    const std::uint32_t ticket = reg_.ticket(io_interest::write);
    const ssize_t n =
        brigade::detail::sys::get().send(reg_.fd(), buf.data(), buf.size(), MSG_NOSIGNAL);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    const int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) brigade::detail::throw_io_error(err, "send", op_target{&peer_});
    co_await reg_.ready(io_interest::write, ticket);
  }
}

task<std::size_t> udp_socket::recv(mutable_buffer buf) {
  auto guard = reg_.begin(io_interest::read, "udp_socket::recv");
  co_await brigade::consume_budget();
  for (;;) {
    const std::uint32_t ticket = reg_.ticket(io_interest::read);
    const ssize_t n = brigade::detail::sys::get().recv(reg_.fd(), buf.data(), buf.size(), 0);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    const int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) brigade::detail::throw_io_error(err, "recv", op_target{&peer_});
    co_await reg_.ready(io_interest::read, ticket);
  }
}

}  // namespace brigade::net
