#pragma once
// The epoll backend: edge-triggered readiness (DESIGN §4).
//
// Moving parts
//   epoll_reactor   the shared core: the epoll fd, the eventfd that unparks
//                   it, and the list of sources waiting to be freed. Owned
//                   by the driver and by every registered source, so a
//                   socket that outlives its runtime can still deregister.
//   epoll_driver    the io_driver the runtime holds; poll()/unpark().
//
// Protocols
//   Registration: each fd is added once with EPOLLIN|EPOLLOUT|EPOLLRDHUP|
//   EPOLLET, data.ptr = its io_source. Reason: edge-triggered readiness
//   needs no re-arming syscall per operation; operations try the syscall
//   first and suspend only on EAGAIN (io_registration.hpp, steps 1-5).
//   Unpark: unpark() writes the eventfd (data.ptr = nullptr) at most once
//   until poll() consumes it (unpark_pending_), so a burst of remote wakes
//   costs one write; the flag is sticky, so an unpark before poll() is not
//   lost.
//   Freeing a source: remove() does EPOLL_CTL_DEL, closes the fd and queues
//   the source. poll() frees the queue it took BEFORE its epoll_wait: events
//   of that wait cannot name a source deleted before it started, while a
//   source queued during the wait (another thread closed a socket) may still
//   appear in its batch, so it waits for the next poll().
//   Orphaning: when the runtime drops its driver, remove() frees at once.

#include "io/driver.hpp"
#include "io/io_source.hpp"

#include <brigade/detail/atomic.hpp>

#include <memory>
#include <mutex>

namespace brigade::detail {

class epoll_reactor final : public reactor {
 public:
  /// Throws std::system_error when epoll_create1 or eventfd fails.
  epoll_reactor();
  ~epoll_reactor() override;

  void add(io_source& source) override;
  void armed(io_source&, io_interest) noexcept override {}
  void remove(io_source* source) noexcept override;

  void poll(int timeout_ms) noexcept;
  void unpark() noexcept;
  /// The runtime dropped its driver: nobody will poll again.
  void orphan() noexcept;

 private:
  void free_released(io_source* list) noexcept;

  int epoll_fd_ = -1;
  int event_fd_ = -1;
  atomic<bool> unpark_pending_{false};
  std::mutex release_mutex_;
  io_source* released_ = nullptr;  // guarded by release_mutex_
  bool orphaned_ = false;          // guarded by release_mutex_
};

class epoll_driver final : public io_driver {
 public:
  epoll_driver() : core_(std::make_shared<epoll_reactor>()) {}
  ~epoll_driver() override { core_->orphan(); }

  void poll(std::optional<std::chrono::nanoseconds> timeout) noexcept override;
  void unpark() noexcept override { core_->unpark(); }
  bool has_pending_io() const noexcept override {
    return core_->waiting_.load(memory_order_relaxed) > 0;
  }
  io_backend backend() const noexcept override { return io_backend::epoll; }
  std::shared_ptr<reactor> core() const noexcept override { return core_; }

 private:
  std::shared_ptr<epoll_reactor> core_;
};

/// Converts a poll timeout to epoll's milliseconds, rounding up (a timer due
/// in 0.3 ms must not turn into a busy loop of zero-timeout polls).
int timeout_to_ms(std::optional<std::chrono::nanoseconds> timeout) noexcept;

}  // namespace brigade::detail
