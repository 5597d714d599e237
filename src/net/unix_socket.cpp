// brigade::net::unix_stream and unix_listener.

#include <brigade/net/unix_listener.hpp>
#include <brigade/net/unix_stream.hpp>
#include <brigade/time/sleep.hpp>

#include "net/accept_ops.hpp"
#include "net/stream_ops.hpp"

#include <brigade/detail/sys.hpp>
#include <brigade/spawn.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace brigade::net {

using brigade::detail::io_interest;
using brigade::detail::op_target;
using brigade::detail::write_kind;

namespace {

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) {
    throw std::invalid_argument("brigade::net: bad unix socket path \"" + path + "\"");
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

}  // namespace

unix_stream unix_stream::adopt(int fd, std::string path) {
  unix_stream s;
  s.reg_ = brigade::detail::io_registration::attach(fd);
  s.path_ = std::move(path);
  return s;
}

task<unix_stream> unix_stream::connect(std::string path) {
  const sockaddr_un sa = unix_address(path);
  unix_stream s;
  s.path_ = std::move(path);
  s.reg_ = brigade::detail::open_registered_socket(AF_UNIX, SOCK_STREAM, "connect",
                                                   op_target{nullptr, &s.path_});
  co_await brigade::detail::stream_connect(s.reg_, reinterpret_cast<const sockaddr*>(&sa),
                                           sizeof sa, op_target{nullptr, &s.path_});
  co_return s;
}

std::pair<unix_stream, unix_stream> unix_stream::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::system_error(errno, std::system_category(), "socketpair");
  }
  unix_stream a;
  try {
    a = adopt(fds[0], {});
  } catch (...) {
    brigade::detail::sys::get().close(fds[1]);
    throw;
  }
  return {std::move(a), adopt(fds[1], {})};
}

task<std::size_t> unix_stream::read(mutable_buffer buf) {
  return brigade::detail::stream_read(reg_, buf, op_target{nullptr, &path_},
                                      brigade::detail::recv_mode::one_shot_only);
}

task<std::size_t> unix_stream::read_exact(mutable_buffer buf) {
  return brigade::detail::stream_read_exact(reg_, buf, op_target{nullptr, &path_},
                                            brigade::detail::recv_mode::one_shot_only);
}

task<std::size_t> unix_stream::write(const_buffer buf) {
  return brigade::detail::stream_write(reg_, buf, op_target{nullptr, &path_}, write_kind::socket);
}

task<> unix_stream::write_all(const_buffer buf) {
  return brigade::detail::stream_write_all(reg_, buf, op_target{nullptr, &path_},
                                           write_kind::socket);
}

void unix_stream::shutdown_write() {
  if (::shutdown(reg_.fd(), SHUT_WR) != 0) {
    brigade::detail::throw_io_error(errno, "shutdown", op_target{nullptr, &path_});
  }
}

task<unix_listener> unix_listener::bind(std::string path, int backlog) {
  if (backlog <= 0) throw std::invalid_argument("unix_listener::bind: backlog <= 0");
  const sockaddr_un sa = unix_address(path);
  unix_listener l;
  l.path_ = std::move(path);
  l.reg_ = brigade::detail::open_registered_socket(AF_UNIX, SOCK_STREAM, "bind",
                                                   op_target{nullptr, &l.path_});
  if (::bind(l.reg_.fd(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    brigade::detail::throw_io_error(errno, "bind", op_target{nullptr, &l.path_});
  }
  if (::listen(l.reg_.fd(), backlog) != 0) {
    brigade::detail::throw_io_error(errno, "listen", op_target{nullptr, &l.path_});
  }
  co_return l;
}

task<unix_stream> unix_listener::accept() {
  auto guard = reg_.begin(io_interest::read, "unix_listener::accept");
  co_await brigade::consume_budget();
  duration backoff = std::chrono::milliseconds(5);
  for (;;) {
    const int fd = co_await brigade::detail::accept_fd(reg_, queue_, nullptr, nullptr);
    if (fd >= 0) co_return unix_stream::adopt(fd, {});
    const int err = -fd;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
      brigade::detail::throw_io_error(err, "accept", op_target{nullptr, &path_});
    }
    co_await brigade::sleep(backoff);
    backoff = std::min<duration>(backoff * 2, std::chrono::seconds(1));
  }
}

}  // namespace brigade::net
