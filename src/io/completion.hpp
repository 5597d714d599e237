#pragma once
// Completion-based operations: the task submits the operation itself (not a
// wait for readiness) and the kernel delivers its result. Only io_uring
// offers them (reactor::supports_completions); callers keep the readiness
// path for epoll. Used by the stream operations after a first EAGAIN
// (src/net/stream_ops.cpp) and by brigade::fs (src/fs/fs.cpp).
//
// Protocol (one awaiter = one submission = exactly one completion)
//   1. await_suspend links the awaiter to the task (a task reference for the
//      waker, like readiness_awaiter) and submits the SQE; user_data names
//      the awaiter. It touches nothing after the submission: the completion
//      may resume the task on another worker at once.
//   2. The driver reaps the CQE: stores the result, marks the awaiter done
//      (release) and wakes the task (consuming the reference).
//   3. An abort (poll with cancel) does NOT resume the task: it submits
//      IORING_OP_ASYNC_CANCEL for the operation once and stays suspended
//      until the operation's own CQE arrives, with -ECANCELED or with its
//      real result. Only then may the buffer and the awaiter die. A result
//      that won the race is delivered (the await returns it: the data was
//      consumed, so "completed XOR cancelled"); -ECANCELED after the cancel
//      throws brigade::cancelled.
//   4. A frame destroyed while its operation is in flight (runtime shutdown,
//      after every worker stopped polling) abandons it: the reactor cancels
//      it synchronously (IORING_REGISTER_SYNC_CANCEL) and forgets its CQE.

#include "io/io_source.hpp"

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <sys/socket.h>
#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace brigade::detail {

/// What to submit. `offset` is used by read/write only (positional file
/// I/O); sockets use recv/send; recvmsg/sendmsg (datagrams with an
/// address) pass a `msghdr*` as `data` (`size` unused): the msghdr, its
/// iovec, name and buffer must live until the completion. accept: `data`
/// is the peer's sockaddr (or null), `addr_len` its size in and out,
/// `flags` the SOCK_* flags of the new fd, which the result is.
struct io_op {
  enum class kind : std::uint8_t { recv, send, read, write, fsync, recvmsg, sendmsg, accept };
  kind op = kind::recv;
  int fd = -1;
  void* data = nullptr;
  std::size_t size = 0;
  std::uint64_t offset = 0;
  int flags = 0;                  // recv/send/recvmsg/sendmsg: MSG_* flags
  bool poll_first = false;        // recv/send/recvmsg/sendmsg: the caller just saw EAGAIN
  socklen_t* addr_len = nullptr;  // accept
};

/// Awaits one completion-based operation on `core` (which must support
/// them). The result is the syscall's: >= 0, or -errno.
class completion_awaiter {
 public:
  completion_awaiter(reactor& core, io_op op) noexcept : core_(&core), op_(op) {}
  completion_awaiter(const completion_awaiter&) = delete;
  completion_awaiter& operator=(const completion_awaiter&) = delete;
  ~completion_awaiter();

  bool await_ready() const noexcept { return false; }
  /// Throws std::logic_error outside a spawned task.
  bool await_suspend(std::coroutine_handle<> awaiting);
  /// The result (>= 0 or -errno). Throws brigade::cancelled when the task
  /// was aborted before submission or the operation was cancelled.
  int await_resume() const;

  const io_op& op() const noexcept { return op_; }

 private:
  friend struct io_internal;
  friend struct completion_internal;
  enum : std::uint8_t { idle = 0, in_flight = 1, done = 2 };
  static bool poll(wait_node* node, bool cancel) noexcept;

  wait_node node_;  // first member: poll() recovers the awaiter from it
  reactor* core_;
  io_op op_;
  task_header* task_ = nullptr;
  atomic<std::uint8_t> state_{idle};
  int result_ = 0;
  bool cancel_sent_ = false;
  bool withdrawn_ = false;
};

/// The driver side (the reactor's reaper).
struct completion_internal {
  /// Step 2: stores `res`, marks done, wakes the task. The awaiter may be
  /// gone when this returns.
  static void complete(completion_awaiter& op, int res) noexcept;
};

}  // namespace brigade::detail
