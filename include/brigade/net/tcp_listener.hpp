#pragma once
// brigade::net::tcp_listener: a listening TCP socket.

#include <brigade/detail/accept_queue_ptr.hpp>
#include <brigade/detail/io_registration.hpp>
#include <brigade/net/address.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/task.hpp>

#include <chrono>
#include <string_view>

namespace brigade::net {

/// Whether several listeners may bind the same address (SO_REUSEPORT):
/// the kernel then spreads incoming connections across them.
enum class reuse_port : std::uint8_t { off, on };

/// Options of tcp_listener::bind.
struct listen_options {
  int backlog = 1024;
  net::reuse_port reuse_port = net::reuse_port::off;
};

/// A connection returned by accept().
struct accepted {
  tcp_stream stream;
  address peer;
};

/// A TCP socket listening for connections (SO_REUSEADDR is always set).
///
/// Resumes on: a worker of the listener's runtime.
/// Cancellation: total. A cancelled accept() throws brigade::cancelled and
/// takes no connection, or, on io_uring when the kernel accepted first,
/// returns that connection (completed XOR cancelled: never dropped).
/// io_uring: a listener that accepted once keeps a multishot accept armed
/// (Linux 5.19; completion-based operations need 6.0) whose connections
/// wait in a per-listener queue (at most ~32; beyond, the kernel's backlog)
/// that accept() pops without a system call; close() or the destructor
/// closes the connections still queued (their peers see the connection
/// end). A queued connection's peer address comes from getpeername when it
/// is popped: empty if the peer already reset it (its first read then
/// fails with ECONNRESET). docs/design/io-backends.md.
/// Thread safety: one task accepts at a time (a second concurrent accept()
/// throws std::logic_error); local_address() from any thread.
/// Throws: std::system_error with the errno and "bind <addr>" / "accept
/// <addr>"; std::invalid_argument for a malformed address.
/// Running out of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM) never throws
/// out of accept(): it backs off (5 ms, doubling to 1 s) and tries again, so
/// an accept loop keeps serving once descriptors are free; the pending
/// connections wait in the kernel's backlog meanwhile. Each accept() call
/// starts its back-off at 5 ms again. A connection that was accepted but
/// could not be registered with the I/O driver (ENOMEM) is closed (its peer
/// sees a reset or EOF), and accept() backs off the same way.
/// The back-off is a timer sleep, not a readiness wait (no readiness edge
/// comes for connections already in the backlog), so an exhausted accept
/// loop costs one accept4 call per back-off step: well under 1% of a CPU
/// (tests/stress/net/emfile_test.cpp).
/// Example:
///   auto l = co_await brigade::net::tcp_listener::bind("127.0.0.1:0");
///   for (;;) {
///     auto [s, peer] = co_await l.accept();
///     brigade::spawn(serve(std::move(s)));
///   }
class tcp_listener {
 public:
  tcp_listener() noexcept = default;
  tcp_listener(tcp_listener&&) noexcept = default;
  tcp_listener& operator=(tcp_listener&&) noexcept = default;
  ~tcp_listener() = default;

  /// Binds and listens. Port 0 picks a free port (see local_address()).
  static task<tcp_listener> bind(address local, listen_options options = {});
  /// "host:port"; a host name is resolved (the first address is used).
  static task<tcp_listener> bind(std::string_view host_port, listen_options options = {});

  /// The next connection (see the class comment for EMFILE).
  task<accepted> accept();

  address local_address() const noexcept { return local_; }
  void close() noexcept {
    queue_.reset();
    reg_.reset();
  }
  bool is_open() const noexcept { return reg_.valid(); }
  int native_handle() const noexcept { return reg_.fd(); }

  /// The back-off bounds of accept() when descriptors run out.
  static constexpr std::chrono::milliseconds min_backoff{5};
  static constexpr std::chrono::milliseconds max_backoff{1000};

 private:
  brigade::detail::io_registration reg_;
  // io_uring: connections a multishot accept already took (closed with the
  // listener). Declared after reg_: destroyed before the fd is closed.
  brigade::detail::accept_queue_ptr queue_;
  address local_;
};

}  // namespace brigade::net
