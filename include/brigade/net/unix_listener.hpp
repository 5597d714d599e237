#pragma once
// brigade::net::unix_listener: a listening Unix-domain stream socket.

#include <brigade/detail/accept_queue_ptr.hpp>
#include <brigade/detail/io_registration.hpp>
#include <brigade/net/unix_stream.hpp>
#include <brigade/task.hpp>

#include <string>

namespace brigade::net {

/// A listening AF_UNIX SOCK_STREAM socket bound to a filesystem path.
/// The path is not removed on close (the caller owns the file).
///
/// Resumes on: a worker of the listener's runtime.
/// Cancellation: total; a cancelled accept() takes no connection (or, on
/// io_uring when the kernel accepted first, returns it). io_uring: the
/// multishot accept queue of tcp_listener, closed with the listener.
/// Thread safety: one task accepts at a time (else std::logic_error).
/// Throws: std::system_error ("bind /tmp/x.sock: Address already in use");
/// std::invalid_argument when the path does not fit sockaddr_un. EMFILE
/// backs off like tcp_listener::accept.
/// Example:
///   auto l = co_await brigade::net::unix_listener::bind("/tmp/app.sock");
///   auto s = co_await l.accept();
class unix_listener {
 public:
  unix_listener() noexcept = default;
  unix_listener(unix_listener&&) noexcept = default;
  unix_listener& operator=(unix_listener&&) noexcept = default;
  ~unix_listener() = default;

  static task<unix_listener> bind(std::string path, int backlog = 1024);
  task<unix_stream> accept();

  const std::string& path() const noexcept { return path_; }
  void close() noexcept {
    queue_.reset();
    reg_.reset();
  }
  bool is_open() const noexcept { return reg_.valid(); }

 private:
  brigade::detail::io_registration reg_;
  // io_uring: connections a multishot accept already took (closed with the
  // listener). Declared after reg_: destroyed before the fd is closed.
  brigade::detail::accept_queue_ptr queue_;
  std::string path_;
};

}  // namespace brigade::net
