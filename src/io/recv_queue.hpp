#pragma once
// Multishot recv on io_uring (IORING_RECV_MULTISHOT with a provided-buffer
// ring, Linux 6.0): one IORING_OP_RECV armed per stream delivers every
// arrival of bytes in its own CQE, in a buffer the kernel picked from the
// reactor's buffer ring (IORING_CQE_F_BUFFER: the buffer id). The chunks
// wait in this per-stream queue; read()/read_exact() copy them out without
// a system call or an SQE per message (src/net/stream_ops.cpp).
//
// Protocol (the shape of accept_queue.hpp)
//   1. Arming (arm(), the reading task, under its op_guard): after a read
//      said EAGAIN on the ring path (the request-response pattern; a bulk
//      read that never waits never arms). At most one multishot is in
//      flight (armed_); while it is, the reactor holds the queue and the
//      reader takes bytes from the queue only, never from the socket: a CQE
//      not yet reaped may hold earlier bytes than the socket.
//   2. Delivery (deliver(), the driver): under mutex_, a chunk (buffer id,
//      length) is queued; res == 0 (the peer's FIN) or a negative res (the
//      error) is queued after the data as the stream's end; a CQE without
//      F_MORE ends the multishot (armed_ = false). -ENOBUFS (the buffer
//      ring ran dry) and -ECANCELED (step 3, 5, 6) only end it: the next
//      wait goes back to the socket (after -ENOBUFS once through a one-shot
//      recv into the caller's buffer, so that a dry ring cannot make a
//      reader spin re-arming). The waiting reader is woken after unlocking.
//   3. Back-pressure: the kernel receives whether or not anyone reads. Once
//      `capacity` chunks are queued the multishot is cancelled (one stream
//      may not hold the whole ring); the bytes beyond stay in the socket.
//   4. Reading (take(), the reading task): copies queued bytes (a chunk
//      consumed partly keeps its offset), then returns the emptied buffers
//      to the ring; the end is reported once, after every byte before it.
//      Waiting (queue_wait.hpp): the task links itself as the queue's
//      waiter; an abort withdraws it under mutex_. Bytes are never handed to a
//      waiter, they stay queued: an aborted read takes nothing and the next
//      read gets every byte ("completed XOR cancelled").
//   5. Stream closed (release(), from the reactor's remove() before it
//      closes the fd): queued buffers go back to the ring, the multishot is
//      cancelled, and the queue is freed by whichever of release() and the
//      final CQE comes last; buffers still arriving are returned by
//      deliver().
//   6. Runtime teardown: the reactor cancels every multishot synchronously,
//      delivers the CQEs still in the ring and ends the rest (see
//      uring_driver.cpp). The buffer memory lives as long as the reactor,
//      which every queue holds: an orphaned stream still reads its chunks.
//   7. A kernel that refuses it (-EINVAL) makes the stream use one-shot
//      recvs for its lifetime.
//   Lock order: mutex_ before the reactor's own locks.

#include "io/io_source.hpp"
#include "io/queue_wait.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

namespace brigade::detail {

struct recv_queue final : waited_queue {
  /// Queued chunks beyond which the multishot is cancelled (step 3).
  static constexpr std::size_t capacity = 32;

  /// What take() found.
  enum class outcome : std::uint8_t {
    data,   // `bytes` > 0 were copied
    end,    // the peer closed (after every byte before it)
    error,  // `error` (errno) ended the stream, after every byte before it
    wait,   // nothing queued, the multishot is armed: await wait()
    idle,   // nothing queued, no multishot: read the socket
  };
  struct taken {
    outcome what = outcome::idle;
    std::size_t bytes = 0;
    int error = 0;
  };

  /// A queue for the stream socket `fd`, registered with `core`.
  recv_queue(std::shared_ptr<reactor> core, int fd) noexcept : waited_queue(std::move(core), fd) {}

  /// Step 4: copies at most `size` queued bytes to `dst`.
  taken take(std::byte* dst, std::size_t size) noexcept;
  /// Step 1: arms the multishot unless one is in flight. False when the
  /// caller should use a one-shot recv instead (step 2's -ENOBUFS, once;
  /// step 7; the ring is gone).
  bool arm() noexcept;
  /// Awaits a chunk, the end, or the end of the multishot (step 4).
  queue_wait wait() noexcept { return queue_wait{*this}; }

  // ---- driver side ----
  /// Step 2 (the driver thread): `data` is the CQE's buffer (null when it
  /// carries none; `bid` its id). May free the queue.
  static void deliver(recv_queue* q, int res, bool more, std::byte* data,
                      std::uint16_t bid) noexcept;
  /// Step 5: the stream's hold.
  static void release(recv_queue* q) noexcept;

 private:
  struct chunk {
    std::byte* data;
    std::uint32_t size;
    std::uint32_t offset;
    std::uint16_t bid;
  };

  bool has_news_locked() const noexcept override;

  std::deque<chunk> chunks_;  // guarded by mutex_
  int end_ = 0;               // guarded: 1 the FIN, -errno an error, after chunks_
  bool armed_ = false;        // guarded: a multishot is in flight
  bool cancel_sent_ = false;  // guarded: step 3 or 5 cancelled it
  bool owner_gone_ = false;   // guarded: release() ran
  bool no_buffers_ = false;   // guarded: the last one ended with -ENOBUFS
  bool refused_ = false;      // guarded: the kernel said EINVAL (step 7)
};

}  // namespace brigade::detail
