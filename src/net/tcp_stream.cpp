// brigade::net::tcp_stream.

#include <brigade/net/resolve.hpp>
#include <brigade/net/tcp_stream.hpp>

#include "net/stream_ops.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <cerrno>
#include <exception>
#include <system_error>

namespace brigade::net {

using brigade::detail::op_target;
using brigade::detail::write_kind;

tcp_stream tcp_stream::adopt(int fd, address peer) {
  tcp_stream s;
  s.reg_ = brigade::detail::io_registration::attach(fd);
  s.peer_ = peer;
  return s;
}

task<tcp_stream> tcp_stream::connect(address peer) {
  if (peer.empty()) throw std::invalid_argument("tcp_stream::connect: empty address");
  tcp_stream s;
  s.peer_ = peer;
  s.reg_ = brigade::detail::open_registered_socket(peer.family(), SOCK_STREAM, "connect",
                                                   op_target{&s.peer_, nullptr});
  co_await brigade::detail::stream_connect(s.reg_, peer.data(), peer.size(),
                                           op_target{&s.peer_, nullptr});
  co_return s;
}

task<tcp_stream> tcp_stream::connect(std::string_view host_port) {
  if (auto a = address::try_parse(host_port)) co_return co_await connect(*a);
  auto [host, port] = brigade::detail::split_host_port(host_port);
  const std::vector<address> candidates = co_await resolve(host, port);
  std::exception_ptr last;
  for (const address& a : candidates) {
    try {
      co_return co_await connect(a);
    } catch (const std::system_error&) {
      last = std::current_exception();
    }
  }
  std::rethrow_exception(last);  // resolve() never returns an empty list
}

task<std::size_t> tcp_stream::read(mutable_buffer buf) {
  return brigade::detail::stream_read(reg_, buf, op_target{&peer_, nullptr},
                                      brigade::detail::recv_mode::multishot_allowed);
}

task<std::size_t> tcp_stream::read_exact(mutable_buffer buf) {
  return brigade::detail::stream_read_exact(reg_, buf, op_target{&peer_, nullptr},
                                            brigade::detail::recv_mode::multishot_allowed);
}

task<std::size_t> tcp_stream::write(const_buffer buf) {
  return brigade::detail::stream_write(reg_, buf, op_target{&peer_, nullptr}, write_kind::socket);
}

task<> tcp_stream::write_all(const_buffer buf) {
  return brigade::detail::stream_write_all(reg_, buf, op_target{&peer_, nullptr},
                                           write_kind::socket);
}

void tcp_stream::shutdown_write() {
  if (::shutdown(reg_.fd(), SHUT_WR) != 0) {
    brigade::detail::throw_io_error(errno, "shutdown", op_target{&peer_, nullptr});
  }
}

void tcp_stream::set_nodelay(bool enabled) {
  const int on = enabled ? 1 : 0;
  if (::setsockopt(reg_.fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    brigade::detail::throw_io_error(errno, "setsockopt TCP_NODELAY", op_target{&peer_, nullptr});
  }
}

address tcp_stream::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(reg_.fd(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    brigade::detail::throw_io_error(errno, "getsockname", op_target{&peer_, nullptr});
  }
  return address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
}

}  // namespace brigade::net
