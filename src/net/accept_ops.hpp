#pragma once
// Taking one connection off a listening socket, shared by tcp_listener and
// unix_listener (their accept loops keep the error policy: transient errors
// retry, EMFILE & co back off, the rest throw).
//
// Paths, in order:
//   1. io_uring, a multishot armed or its queue non-empty: pop the queue
//      (no system call), or wait for it (src/io/accept_queue.hpp).
//   2. accept4 through the syscall seam (both backends: fault injection
//      and the EMFILE back-off see every attempt).
//   3. EAGAIN on epoll (or an io_uring without completion-based ops):
//      wait for readiness and go to 2.
//   4. EAGAIN on io_uring: a listener that accepted before arms a
//      multishot accept and goes to 1; a first accept (or a kernel that
//      refused multishot) submits one IORING_OP_ACCEPT, whose CQE carries
//      the new fd. An abort cancels it (ASYNC_CANCEL); if the accept won
//      the race the fd is returned, never dropped.

#include <brigade/detail/accept_queue_ptr.hpp>
#include <brigade/detail/io_registration.hpp>
#include <brigade/task.hpp>

#include <sys/socket.h>

namespace brigade::detail {

/// The next connection's fd (non-blocking, close-on-exec), or -errno for
/// any error but EAGAIN (the caller decides: retry, back off or throw).
/// `peer`/`peer_len` (may be null) receive the peer's address; `queue` is
/// the listener's multishot queue, created here on first need. The caller
/// holds the listener's read op_guard.
/// Cancellation: a cancelled await takes no connection (a connection that
/// the kernel accepted meanwhile stays queued, or, single-shot, is
/// returned: completed XOR cancelled).
task<int> accept_fd(const io_registration& listener, accept_queue_ptr& queue, sockaddr* peer,
                    socklen_t* peer_len);

}  // namespace brigade::detail
