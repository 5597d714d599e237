#pragma once
// brigade::net::tcp_stream: a connected TCP socket.

#include <brigade/detail/io_registration.hpp>
#include <brigade/net/address.hpp>
#include <brigade/net/buffer.hpp>
#include <brigade/task.hpp>

#include <cstddef>
#include <string_view>

namespace brigade::net {

/// A connected TCP socket, registered with the runtime that created it.
///
/// Every operation first tries its system call and suspends only when the
/// kernel says EAGAIN; the task is resumed by the runtime's I/O driver.
///
/// Resumes on: a worker of the runtime the stream belongs to (on
/// current_thread, the runtime's thread).
/// Cancellation: partial. Aborting a task suspended in read/write throws
/// brigade::cancelled there and leaves the stream usable: a cancelled
/// read() consumed nothing; a cancelled write_all/read_exact may have
/// transferred a prefix (the byte count is lost with the exception), so
/// after cancelling one of those the stream's framing is unknown.
/// Thread safety: one task may read while another writes (full duplex). Two
/// concurrent readers (or two concurrent writers) are an error: the second
/// one throws std::logic_error. Other members: one thread at a time.
/// Throws: std::system_error with the errno and the operation and peer
/// ("read 127.0.0.1:8080: Connection reset by peer"); std::logic_error when
/// used outside a task of its runtime, after close, or concurrently as above.
/// A peer that vanishes (RST, EPIPE) is an error of this stream only; SIGPIPE
/// is never raised (MSG_NOSIGNAL).
/// Example:
///   auto s = co_await brigade::net::tcp_stream::connect("127.0.0.1:8080");
///   co_await s.write_all("ping");
///   char buf[4];
///   std::size_t n = co_await s.read_exact(buf);
class tcp_stream {
 public:
  tcp_stream() noexcept = default;
  tcp_stream(tcp_stream&&) noexcept = default;
  tcp_stream& operator=(tcp_stream&&) noexcept = default;
  ~tcp_stream() = default;

  /// Connects to `peer`. Throws std::system_error ("connect <peer>: ...").
  static task<tcp_stream> connect(address peer);
  /// Connects to "host:port" (numeric host, or a name resolved with
  /// brigade::net::resolve; each resolved address is tried in order).
  /// Throws std::invalid_argument on malformed text.
  static task<tcp_stream> connect(std::string_view host_port);

  /// Reads at most buf.size() bytes; 0 means the peer closed its side (or
  /// buf is empty).
  task<std::size_t> read(mutable_buffer buf);
  /// Reads until buf is full or the stream ends; returns the bytes read
  /// (buf.size() unless the peer closed first).
  task<std::size_t> read_exact(mutable_buffer buf);
  /// Writes at most buf.size() bytes; returns how many were written.
  task<std::size_t> write(const_buffer buf);
  /// Writes all of buf.
  task<> write_all(const_buffer buf);

  /// Closes the sending side (the peer reads EOF); reading goes on.
  /// Throws std::system_error.
  void shutdown_write();
  /// TCP_NODELAY on or off. Throws std::system_error.
  void set_nodelay(bool enabled);
  address peer_address() const noexcept { return peer_; }
  /// Throws std::system_error.
  address local_address() const;
  /// Closes the socket now (the destructor does too). Not while an
  /// operation is in progress.
  void close() noexcept { reg_.reset(); }
  bool is_open() const noexcept { return reg_.valid(); }
  int native_handle() const noexcept { return reg_.fd(); }

  /// Adopts a connected, non-blocking socket fd (owned from now on).
  /// Throws like io_registration::attach.
  static tcp_stream adopt(int fd, address peer);

 private:
  brigade::detail::io_registration reg_;
  address peer_;
};

}  // namespace brigade::net
