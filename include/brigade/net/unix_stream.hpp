#pragma once
// brigade::net::unix_stream: a connected Unix-domain stream socket.

#include <brigade/detail/io_registration.hpp>
#include <brigade/net/buffer.hpp>
#include <brigade/task.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace brigade::net {

/// A connected AF_UNIX SOCK_STREAM socket. Same contract as tcp_stream
/// (read, read_exact, write, write_all, shutdown_write).
///
/// Resumes on: a worker of the stream's runtime.
/// Cancellation: partial, as tcp_stream: a cancelled read() consumed
/// nothing; a cancelled write_all/read_exact may have moved a prefix.
/// Thread safety: one reader and one writer at a time (full duplex); a
/// second concurrent reader or writer throws std::logic_error.
/// Throws: std::system_error ("connect /tmp/x.sock: No such file or
/// directory"); std::logic_error as above.
/// Example:
///   auto [a, b] = brigade::net::unix_stream::pair();
///   co_await a.write_all("x");
class unix_stream {
 public:
  unix_stream() noexcept = default;
  unix_stream(unix_stream&&) noexcept = default;
  unix_stream& operator=(unix_stream&&) noexcept = default;
  ~unix_stream() = default;

  /// Connects to the socket at `path`.
  static task<unix_stream> connect(std::string path);
  /// Two connected streams (socketpair). Must be called inside a runtime.
  static std::pair<unix_stream, unix_stream> pair();

  task<std::size_t> read(mutable_buffer buf);
  task<std::size_t> read_exact(mutable_buffer buf);
  task<std::size_t> write(const_buffer buf);
  task<> write_all(const_buffer buf);
  void shutdown_write();

  /// The path this stream connected to (empty for accepted and paired ones).
  const std::string& path() const noexcept { return path_; }
  void close() noexcept { reg_.reset(); }
  bool is_open() const noexcept { return reg_.valid(); }
  int native_handle() const noexcept { return reg_.fd(); }

  /// Adopts a connected non-blocking AF_UNIX stream fd (owned from now on).
  static unix_stream adopt(int fd, std::string path);

 private:
  brigade::detail::io_registration reg_;
  std::string path_;
};

}  // namespace brigade::net
