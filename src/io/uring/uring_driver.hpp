#pragma once
// The io_uring backend (built when liburing is found; BRIGADE_HAVE_IO_URING).
//
// Model: two kinds of submissions share the ring.
//   Operations (src/io/completion.hpp): stream recv/send after an EAGAIN and
//   the positional file I/O of brigade::fs are submitted themselves; the
//   CQE carries their result (user_data = awaiter | op_bit).
//   Multishot accept (src/io/accept_queue.hpp): one per listener in an
//   accept loop; every CQE carries a new fd for the listener's queue
//   (user_data = queue | accept_bit); multishots_ lists those in flight so
//   that teardown cancels them synchronously and closes the fds of CQEs
//   nobody read.
//   Multishot recv (src/io/recv_queue.hpp): one per stream whose reads
//   wait (after an EAGAIN); every CQE carries a chunk in a buffer of the
//   reactor's provided-buffer ring (256 x 2 KiB, registered at setup when
//   completions are on; user_data = queue | recv_tag), or the stream's end;
//   recvs_ lists those in flight for teardown, as multishots_ does.
//   Buffers go back to the ring under buffer_mutex_ (a leaf lock: any
//   reader thread, after copying the bytes out).
//   Readiness: a task waiting for accept/connect/UDP/signalfd/pidfd links
//   its awaiter (io_source.hpp) and arms a one-shot IORING_OP_POLL_ADD for
//   its fd and direction; the driver reaps the completion and fires the
//   source (user_data = source | direction).
// The socket code above is the same on both backends: every I/O test runs
// on both. What is completion-based and why: docs/design/io-backends.md.
//
// Protocols
//   Arming: under the source's lock (the awaiter links itself and calls
//   armed() in one critical section), at most one poll per direction is in
//   flight (poll_armed_); inflight_ counts them. SQEs are prepared under
//   sq_mutex_ (taken inside the source's lock) by whichever thread armed
//   (any worker): the ring is shared by the runtime, so
//   IORING_SETUP_SINGLE_ISSUER/DEFER_TASKRUN are not used (they require
//   one submitting thread; docs/design/io-backends.md).
//   Batching: the driver holder (holder_: the last thread in poll(), set
//   under sq_mutex_ before it sleeps) leaves its SQEs in the SQ; its next
//   poll() submits them with its wait in one io_uring_enter. Any other
//   thread submits at once (the holder may be asleep in the kernel).
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
//   Operations: submit() under sq_mutex_; cancel() submits ASYNC_CANCEL by
//   user_data (the operation's own CQE still follows, exactly once);
//   remove() of an fd that had operations cancels them by fd; abandon()
//   (a frame destroyed at shutdown with its operation in flight) cancels
//   synchronously and records the user_data so a later reap skips it.
//   Multishots at teardown: each multishot (accept or recv) is cancelled
//   synchronously, the CQEs left in the ring are delivered (fds closed or
//   queued, chunks queued or returned), and the queues whose final CQE did
//   not come are ended. The buffer memory is unmapped only when the reactor
//   dies: every recv queue holds the reactor, so an orphaned stream can
//   still read its queued chunks.
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
