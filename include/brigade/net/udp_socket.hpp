#pragma once
// brigade::net::udp_socket: a UDP socket.

#include <brigade/detail/io_registration.hpp>
#include <brigade/net/address.hpp>
#include <brigade/net/buffer.hpp>
#include <brigade/task.hpp>

#include <cstddef>
#include <string_view>

namespace brigade::net {

/// A datagram and where it came from.
struct received_from {
  std::size_t size;
  address peer;
};

/// A UDP socket bound to a local address.
///
/// Resumes on: a worker of the socket's runtime.
/// Suspends: only when the socket would block (EAGAIN). On io_uring the
/// waiting receive or send is then one ring operation (RECVMSG/SENDMSG, or
/// RECV/SEND when connected) that completes with the datagram; on epoll it
/// waits for readiness and retries the syscall.
/// Cancellation: total. A cancelled receive takes no datagram; a cancelled
/// send sent nothing (a datagram is sent whole or not at all). An abort that
/// races the datagram's arrival ends the operation exactly once: either it
/// returns the datagram (it was consumed) or it throws brigade::cancelled
/// (it was not).
/// Thread safety: one task may receive while another sends; two concurrent
/// receivers (or senders) throw std::logic_error.
/// Throws: std::system_error ("send_to 127.0.0.1:9000: ..."),
/// std::invalid_argument for malformed addresses, std::logic_error as above.
/// Example:
///   auto u = co_await brigade::net::udp_socket::bind("127.0.0.1:0");
///   co_await u.send_to("hi", peer);
///   auto [n, from] = co_await u.recv_from(buf);
class udp_socket {
 public:
  udp_socket() noexcept = default;
  udp_socket(udp_socket&&) noexcept = default;
  udp_socket& operator=(udp_socket&&) noexcept = default;
  ~udp_socket() = default;

  static task<udp_socket> bind(address local);
  static task<udp_socket> bind(std::string_view host_port);

  /// Sends one datagram to `peer`; returns its size.
  task<std::size_t> send_to(const_buffer buf, address peer);
  /// Receives one datagram. A datagram longer than buf.size() is truncated:
  /// its first buf.size() bytes are stored, the rest is discarded, and the
  /// size returned is buf.size() (no MSG_TRUNC report). Same for recv().
  task<received_from> recv_from(mutable_buffer buf);

  /// Sets the default peer for send()/recv() (and filters what recv sees).
  /// Throws std::system_error.
  void connect(address peer);
  task<std::size_t> send(const_buffer buf);
  task<std::size_t> recv(mutable_buffer buf);

  address local_address() const noexcept { return local_; }
  void close() noexcept { reg_.reset(); }
  bool is_open() const noexcept { return reg_.valid(); }
  int native_handle() const noexcept { return reg_.fd(); }

 private:
  brigade::detail::io_registration reg_;
  address local_;
  address peer_;
};

}  // namespace brigade::net
