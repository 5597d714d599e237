// brigade::net::udp_socket.

#include <brigade/net/resolve.hpp>
#include <brigade/net/udp_socket.hpp>

#include "io/completion.hpp"
#include "net/stream_ops.hpp"

#include <brigade/detail/sys.hpp>
#include <brigade/spawn.hpp>

#include <sys/socket.h>
#include <cerrno>

namespace brigade::net {

using brigade::detail::io_interest;
using brigade::detail::io_op;
using brigade::detail::op_target;

namespace {

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

/// The reactor if it runs completion-based operations (io_uring), else null
/// (epoll: readiness waits).
brigade::detail::reactor* ring_of(const brigade::detail::io_registration& reg) noexcept {
  brigade::detail::reactor* core = reg.source()->reactor_.get();
  return core->supports_completions() ? core : nullptr;
}

/// After an EAGAIN on io_uring: the datagram operation itself goes to the
/// ring (POLL_FIRST: the socket was just seen empty, or full). Everything
/// `op` points to (the msghdr, its iovec and name, the buffer) lives in the
/// caller's frame, which stays suspended until the completion, also when
/// the task is aborted meanwhile (src/io/completion.hpp). Returns the
/// syscall's result: bytes, or -errno.
task<int> through_ring(brigade::detail::reactor& core, const brigade::detail::io_registration& reg,
                       io_op op) {
  // relaxed: read by remove() on this fd's owner, after this operation.
  reg.source()->ops_used_.store(true, brigade::detail::memory_order_relaxed);
  op.fd = reg.fd();
  op.poll_first = true;
  brigade::detail::completion_awaiter awaiter{core, op};
  co_return co_await awaiter;
}

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
    if (brigade::detail::reactor* core = ring_of(reg_)) {
      iovec iov{const_cast<std::byte*>(buf.data()), buf.size()};
      msghdr msg{};
      msg.msg_name = const_cast<sockaddr*>(peer.data());
      msg.msg_namelen = peer.size();
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      const io_op op{.op = io_op::kind::sendmsg, .data = &msg, .flags = MSG_NOSIGNAL};
      const int r = co_await through_ring(*core, reg_, op);
      if (r >= 0) co_return static_cast<std::size_t>(r);
      if (-r != EINTR && !would_block(-r)) {
        brigade::detail::throw_io_error(-r, "send_to", op_target{&peer});
      }
      continue;
    }
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
    if (brigade::detail::reactor* core = ring_of(reg_)) {
      iovec iov{buf.data(), buf.size()};
      msghdr msg{};
      msg.msg_name = &ss;
      msg.msg_namelen = sizeof ss;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      const io_op op{.op = io_op::kind::recvmsg, .data = &msg};
      const int r = co_await through_ring(*core, reg_, op);
      if (r >= 0) {
        co_return received_from{
            static_cast<std::size_t>(r),
            address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), msg.msg_namelen)};
      }
      if (-r != EINTR && !would_block(-r)) {
        brigade::detail::throw_io_error(-r, "recv_from", op_target{&local_});
      }
      continue;
    }
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
    if (brigade::detail::reactor* core = ring_of(reg_)) {
      const io_op op{.op = io_op::kind::send,
                     .data = const_cast<std::byte*>(buf.data()),
                     .size = buf.size(),
                     .flags = MSG_NOSIGNAL};
      const int r = co_await through_ring(*core, reg_, op);
      if (r >= 0) co_return static_cast<std::size_t>(r);
      if (-r != EINTR && !would_block(-r)) {
        brigade::detail::throw_io_error(-r, "send", op_target{&peer_});
      }
      continue;
    }
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
    if (brigade::detail::reactor* core = ring_of(reg_)) {
      const io_op op{.op = io_op::kind::recv, .data = buf.data(), .size = buf.size()};
      const int r = co_await through_ring(*core, reg_, op);
      if (r >= 0) co_return static_cast<std::size_t>(r);
      if (-r != EINTR && !would_block(-r)) {
        brigade::detail::throw_io_error(-r, "recv", op_target{&peer_});
      }
      continue;
    }
    co_await reg_.ready(io_interest::read, ticket);
  }
}

}  // namespace brigade::net
