#pragma once
// The operations every fd-based stream shares (tcp_stream, unix_stream,
// process pipes): try the syscall, suspend on EAGAIN until the driver
// reports readiness (detail/io_registration.hpp), retry on EINTR, throw
// std::system_error with the operation and the peer on anything else.

#include <brigade/detail/io_registration.hpp>
#include <brigade/net/address.hpp>
#include <brigade/net/buffer.hpp>
#include <brigade/task.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace brigade::detail {

/// What an error message names: "read 127.0.0.1:8080", "write /tmp/s.sock".
/// Points into the stream object, which outlives its operations.
struct op_target {
  const net::address* peer = nullptr;
  const std::string* path = nullptr;
  std::string describe() const;
};

/// How bytes are sent: sockets use send(MSG_NOSIGNAL) so a vanished peer is
/// EPIPE, never SIGPIPE; pipes can only write().
enum class write_kind : std::uint8_t { socket, pipe };

[[noreturn]] void throw_io_error(int err, std::string_view op, const op_target& target);

/// Whether a stream's reads may go through a multishot recv on io_uring
/// (src/io/recv_queue.hpp). AF_UNIX streams may not: the kernel can miss the
/// peer's EOF there (the multishot posts the data with F_MORE, then never
/// the final 0; liburing issue #1549, seen here on 6.18 as a hang of
/// Buffered.ReadsLinesAcrossSmallWrites). TCP streams are not affected.
enum class recv_mode : std::uint8_t { multishot_allowed, one_shot_only };

task<std::size_t> stream_read(const io_registration& reg, net::mutable_buffer buf, op_target target,
                              recv_mode mode);
task<std::size_t> stream_read_exact(const io_registration& reg, net::mutable_buffer buf,
                                    op_target target, recv_mode mode);
task<std::size_t> stream_write(const io_registration& reg, net::const_buffer buf, op_target target,
                               write_kind kind);
task<> stream_write_all(const io_registration& reg, net::const_buffer buf, op_target target,
                        write_kind kind);

/// A non-blocking, close-on-exec socket. Throws std::system_error.
int open_socket(int domain, int type);

/// open_socket, registered with the current runtime's driver. A failure of
/// either step (EMFILE, ENOMEM, ...) throws std::system_error naming `op`
/// and `target` ("connect 127.0.0.1:80: Cannot allocate memory"), like every
/// other error of the operation.
io_registration open_registered_socket(int domain, int type, std::string_view op,
                                       const op_target& target);

/// Connects `reg`'s socket to `addr` and waits for the handshake.
task<> stream_connect(const io_registration& reg, const sockaddr* addr, socklen_t len,
                      op_target target);

/// Splits "host:port" / "[v6]:port". Throws std::invalid_argument.
std::pair<std::string, std::uint16_t> split_host_port(std::string_view text);

}  // namespace brigade::detail
