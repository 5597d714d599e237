#pragma once
// The I/O driver interface (DESIGN §4). A runtime owns one; the thread that
// holds the runtime's driver (the current_thread loop, or the multi_thread
// worker that parks first) waits in poll() for readiness/completions, and
// any thread wakes it with unpark().
//
// Backends (docs/design/io-backends.md): epoll (edge-triggered readiness,
// src/io/epoll/) and io_uring (one-shot polls on a ring, src/io/uring/,
// built when liburing is found), chosen at run time by make_io_driver
// (select_backend.cpp). Both share the readiness layer of io_source.hpp:
// sockets register their fd once and suspend only on EAGAIN.

#include <brigade/runtime_options.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace brigade::detail {

class reactor;

class io_driver {
 public:
  virtual ~io_driver() = default;

  /// Waits for I/O events or unpark(), at most `timeout` (nullopt: no limit;
  /// zero: do not block), then wakes the tasks whose I/O is ready.
  /// One thread at a time (the driver holder).
  virtual void poll(std::optional<std::chrono::nanoseconds> timeout) noexcept = 0;
  /// Makes the current or next poll() return promptly. Any thread; sticky
  /// (an unpark before poll() is not lost).
  virtual void unpark() noexcept = 0;
  /// True while some operation waits on the OS (deadlock detection under
  /// the paused clock treats such a runtime as not stuck).
  virtual bool has_pending_io() const noexcept = 0;
  /// The backend actually in use.
  virtual io_backend backend() const noexcept = 0;
  /// The core that fds register with (src/io/io_source.hpp). Any thread.
  virtual std::shared_ptr<reactor> core() const noexcept = 0;
};

/// Creates the driver for `requested` (automatic: io_uring if the kernel
/// allows it, else epoll). Throws std::system_error when the kernel refuses
/// the requested backend.
std::unique_ptr<io_driver> make_io_driver(io_backend requested);

}  // namespace brigade::detail
