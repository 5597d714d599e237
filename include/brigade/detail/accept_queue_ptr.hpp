#pragma once
// The handle a listener keeps to its multishot-accept queue (io_uring only;
// src/io/accept_queue.hpp). Public only because the listeners hold one as a
// private member; the queue itself stays private.

#include <memory>

namespace brigade::detail {

struct accept_queue;  // src/io/accept_queue.hpp

/// Releases the listener's hold on its queue: closes the connections still
/// queued and cancels the multishot accept in flight (the queue is freed
/// once the kernel confirmed the cancellation).
struct accept_queue_release {
  void operator()(accept_queue* queue) const noexcept;
};

/// Created by the first accept() that needs the ring; empty on epoll.
using accept_queue_ptr = std::unique_ptr<accept_queue, accept_queue_release>;

}  // namespace brigade::detail
