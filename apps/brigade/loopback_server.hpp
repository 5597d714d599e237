#pragma once
// The in-process TCP server that the I/O-bound load of `brigade compare`
// sends its requests to, and the blocking client the thread models use.
//
// The server is a brigade current_thread runtime on a thread of its own,
// listening on 127.0.0.1 at a port the kernel picks. Each connection carries
// one exchange: the client writes an 8-byte request (a job number), the
// server waits `delay` on a timer (the "database query" behind the request,
// so a request is a real wait, as long as a timer wait of the load), then
// writes the 8-byte reply response_of(request) and closes. It serves any
// number of connections, concurrently, until it is destroyed.
//
// Every model sees the same server: its thread and its CPU time belong to
// every run alike (it is started before the run's meter, so its thread is
// not counted among the run's threads).

#include <brigade/net/address.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace brigade::app {

/// What the server replies to `request` (a mix, so a checksum over the
/// replies proves each one came back whole).
std::uint64_t response_of(std::uint64_t request) noexcept;

class loopback_server {
 public:
  /// Starts the server thread and returns once it listens. Raises this
  /// process's soft limit of open descriptors to its hard limit (two per
  /// concurrent request).
  /// Throws: std::system_error when it cannot bind or start.
  explicit loopback_server(std::chrono::nanoseconds delay);
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;
  /// Stops accepting, lets the runtime destroy what is left, joins.
  ~loopback_server();

  net::address address() const noexcept { return address_; }

 private:
  net::address address_;
  std::thread thread_;
  // Set before the wake-up connection that makes the accept loop return.
  std::atomic<bool> stopping_{false};
};

/// One request/response exchange with blocking sockets (connect, write,
/// read, close) on the calling thread. Returns the reply.
/// Throws: std::system_error.
std::uint64_t blocking_request(const net::address& server, std::uint64_t request);

}  // namespace brigade::app
