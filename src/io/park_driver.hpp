#pragma once
// The driver used while no I/O source is registered: a futex wait with a
// timeout, woken by unpark(). The epoll and io_uring backends replace it
// with epoll_wait/io_uring_enter plus an eventfd.

#include "io/driver.hpp"
#include "runtime/park.hpp"

namespace brigade::detail {

class park_driver final : public io_driver {
 public:
  explicit park_driver(io_backend reported) noexcept : reported_(reported) {}

  void poll(std::optional<std::chrono::nanoseconds> timeout) noexcept override {
    if (!timeout) {
      parker_.park();
    } else if (timeout->count() > 0) {
      parker_.park_for(*timeout);
    }
  }
  void unpark() noexcept override { parker_.unpark(); }
  bool has_pending_io() const noexcept override { return false; }
  io_backend backend() const noexcept override { return reported_; }

 private:
  parker parker_;
  io_backend reported_;
};

}  // namespace brigade::detail
