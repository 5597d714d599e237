#pragma once
// Multishot accept on io_uring (io_uring_prep_multishot_accept, Linux 5.19):
// one IORING_OP_ACCEPT armed per listener delivers every new connection in
// its own CQE (IORING_CQE_F_MORE: more will follow). The fds wait in this
// per-listener queue, which accept() pops without a system call.
//
// Protocol
//   1. Arming (arm(), the accepting task): after accept4 said EAGAIN on a
//      listener that already accepted once (a loop; a one-off accept uses a
//      single-shot IORING_OP_ACCEPT instead). At most one multishot is in
//      flight (armed_); while it is, the reactor holds the queue and
//      accept() waits on the queue instead of calling accept4.
//   2. Delivery (deliver(), the driver): under mutex_, a connection's fd is
//      queued (or closed at once when the listener is gone); a CQE without
//      F_MORE ends the multishot (armed_ = false) and leaves its error for
//      accept() (-EMFILE: the accept loop backs off as after accept4);
//      the waiting task is unlinked and woken after unlocking.
//   3. Back-pressure: the kernel accepts whether or not anyone calls
//      accept(). Once `capacity` fds are queued the multishot is cancelled;
//      the next accept() that empties the queue and sees EAGAIN re-arms it.
//      Connections beyond wait in the kernel's backlog, as on epoll.
//   4. Waiting (queue_wait.hpp): the task links itself as the queue's
//      waiter; an abort withdraws it under mutex_. fds are never handed to a
//      waiter, they stay queued: a cancelled accept() takes no connection,
//      and the next one gets it ("completed XOR cancelled").
//   5. Listener gone (release()): queued fds are closed, the multishot is
//      cancelled, and the queue is freed by whichever of release() and the
//      final CQE comes last; fds still in flight are closed by deliver().
//   6. Runtime teardown: the reactor cancels every multishot synchronously,
//      delivers the CQEs still in the ring (closing their fds) and ends the
//      rest (see uring_driver.cpp).
//   7. A kernel that refuses multishot (-EINVAL) makes the queue fall back
//      to single-shot accepts for the listener's lifetime.
//   Lock order: mutex_ before the reactor's own lock.

#include "io/io_source.hpp"
#include "io/queue_wait.hpp"

#include <brigade/detail/accept_queue_ptr.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace brigade::detail {

struct accept_queue final : waited_queue {
  /// Queued connections beyond which the multishot is cancelled (step 3).
  static constexpr std::size_t capacity = 32;

  /// A queue for the listener `listen_fd`, registered with `core`.
  accept_queue(std::shared_ptr<reactor> core, int listen_fd) noexcept
      : waited_queue(std::move(core), listen_fd) {}

  /// Takes the next queued connection (result >= 0) or else the error the
  /// last multishot ended with (result = -errno, reported once). False when
  /// there is neither.
  bool pop(int& result) noexcept;
  /// Whether accept() should arm a multishot rather than a single-shot
  /// accept (step 1 and 7).
  bool wants_multishot() const noexcept;
  /// A multishot is in flight: accept() waits on the queue, not accept4.
  bool armed() noexcept;
  /// Arms the multishot if none is in flight (step 1).
  void arm() noexcept;
  /// Awaits a queued fd, an error, or the end of the multishot (step 4).
  queue_wait wait() noexcept { return queue_wait{*this}; }
  /// accept() returned a connection: the listener now counts as a loop.
  void note_accepted() noexcept { ++used_; }

  int listen_fd() const noexcept { return fd(); }

  // ---- driver side ----
  /// Step 2 (the driver thread). May free the queue.
  static void deliver(accept_queue* q, int res, bool more) noexcept;
  /// Step 5: the listener's hold (accept_queue_release).
  static void release(accept_queue* q) noexcept;

 private:
  bool has_news_locked() const noexcept override;

  std::deque<int> fds_;       // guarded by mutex_
  int error_ = 0;             // guarded: -errno the multishot ended with
  bool armed_ = false;        // guarded: a multishot is in flight
  bool cancel_sent_ = false;  // guarded: step 3 cancelled it
  bool owner_gone_ = false;   // guarded: release() ran
  bool refused_ = false;      // guarded: the kernel said EINVAL (step 7)
  std::size_t used_ = 0;      // the accepting task only (op_guard orders it)
};

}  // namespace brigade::detail
