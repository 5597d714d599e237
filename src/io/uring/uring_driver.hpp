#pragma once
// The io_uring backend (built when liburing is found; BRIGADE_HAVE_IO_URING).
//
// Model: readiness through the ring. A task that got EAGAIN links its
// awaiter (io_source.hpp) and arms a one-shot IORING_OP_POLL_ADD for its fd
// and direction; the driver reaps the completion and fires the source. The
// socket code above is the same as on epoll: every I/O test runs on both.
// Completion-based read/write/accept submissions are not done yet (see
// docs/design/io-backends.md, "What is missing").
//
// Protocols
//   Arming: under the source's lock (the awaiter links itself and calls
//   armed() in one critical section), at most one poll per direction is in
//   flight (poll_armed_); inflight_ counts them. Submission happens under
//   sq_mutex_ (taken inside the source's lock) from whichever thread armed
//   (any worker): the ring is shared by the runtime, so
//   IORING_SETUP_SINGLE_ISSUER/DEFER_TASKRUN cannot be used (they require
//   one submitting thread).
//   Reaping: only the driver holder reaps CQEs (one thread at a time), and
//   waits without sq_mutex_ (IORING_FEAT_EXT_ARG is required so that the
//   timed wait needs no timeout SQE).
//   Freeing a source: every in-flight poll holds the source (inflight_).
//   A completion unlinks the waiters it wakes AND drops its hold in one
//   critical section of the source's lock, and touches the source no more
//   after it unless it was the last hold of a detached source. remove()
//   marks it detached under the same lock (plus sq_mutex_, so a poll is
//   either armed before and gets its POLL_REMOVE, or never armed) and frees
//   it only when nothing is in flight; otherwise the completion that brings
//   inflight_ to 0 frees it ("completed XOR cancelled": a poll completes
//   exactly once, with its result or -ECANCELED). Issue #5 was a completion
//   that dropped its hold first and fired after unlocking: the owner could
//   close and free the source in between.
//   Unpark: an eventfd with a one-shot poll re-armed by the driver; the
//   unpark_pending_ flag makes it sticky and coalesces bursts.
//   Orphaning: when the runtime drops its driver, the ring is torn down
//   (the kernel cancels every poll) and detached sources still waiting for a
//   completion are freed; later removes free at once.

#include "io/driver.hpp"
#include "io/io_source.hpp"

#include <memory>

namespace brigade::detail {

/// An io_uring driver. Throws std::system_error when the kernel refuses
/// io_uring_setup (through the syscall seam) or lacks IORING_FEAT_EXT_ARG.
std::unique_ptr<io_driver> make_uring_driver();

}  // namespace brigade::detail
