#pragma once
// The syscall seam (RELIABILITY.md "Seams"): the I/O drivers and the socket
// types call the OS through one table of function pointers, so that a test
// can install a faulty table (tests/support/fault_injection.hpp) and inject
// EINTR, spurious EAGAIN, short reads/writes, ECONNRESET, EPIPE, EMFILE,
// ENOMEM or a refused io_uring_setup.
//
// Protocol
//   1. get() returns the table in force; by default the real libc calls.
//   2. install() swaps in another table and returns the previous one. It is
//      meant for test fixtures: install before the runtime that should see
//      the faults starts doing I/O, restore after it is gone. A call that
//      already loaded the old table finishes with it (tables are never
//      freed by the seam: the installer owns them and must outlive its
//      scope).
//   3. Every entry has the libc signature and the libc error convention
//      (-1 and errno), except io_uring_setup, which returns the new ring fd
//      or -errno like the raw syscall, and io_uring_enter, which returns its
//      result or -errno.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <cstddef>

struct io_uring_params;  // <linux/io_uring.h>; only passed through

namespace brigade::detail::sys {

struct table {
  ssize_t (*read)(int fd, void* buf, std::size_t count);
  ssize_t (*write)(int fd, const void* buf, std::size_t count);
  ssize_t (*readv)(int fd, const iovec* iov, int count);
  ssize_t (*writev)(int fd, const iovec* iov, int count);
  ssize_t (*recv)(int fd, void* buf, std::size_t len, int flags);
  ssize_t (*send)(int fd, const void* buf, std::size_t len, int flags);
  ssize_t (*recvfrom)(int fd, void* buf, std::size_t len, int flags, sockaddr* from,
                      socklen_t* from_len);
  ssize_t (*sendto)(int fd, const void* buf, std::size_t len, int flags, const sockaddr* to,
                    socklen_t to_len);
  int (*accept4)(int fd, sockaddr* addr, socklen_t* addr_len, int flags);
  int (*connect)(int fd, const sockaddr* addr, socklen_t addr_len);
  int (*socket)(int domain, int type, int protocol);
  int (*close)(int fd);
  int (*epoll_wait)(int epfd, epoll_event* events, int max_events, int timeout_ms);
  int (*epoll_ctl)(int epfd, int op, int fd, epoll_event* event);
  /// The raw io_uring_setup syscall: the ring fd, or -errno.
  int (*io_uring_setup)(unsigned entries, io_uring_params* params);
  /// The raw io_uring_enter syscall (`arg` is the sigset or, with
  /// IORING_ENTER_EXT_ARG, the io_uring_getevents_arg): its result, or
  /// -errno. Every submission and wait of the io_uring backend goes
  /// through it (a test counts them: batched submission).
  int (*io_uring_enter)(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                        const void* arg, std::size_t arg_size);
  /// Whether a stream read that returns fewer bytes than asked means the
  /// socket or pipe was empty at that moment (true of Linux's TCP, Unix and
  /// pipe reads; false by default in test tables, which may fake short
  /// reads). When true, the next read after a short one waits for new data
  /// first instead of making a syscall that would say EAGAIN (stream_ops).
  bool short_read_drains = false;
  /// Whether a stream that waits for data on io_uring may switch to a
  /// multishot recv into the runtime's buffer ring (src/io/recv_queue.hpp;
  /// its reads then take queued chunks without calling `read`). True in
  /// real(); false by default in test tables built from scratch, and a
  /// test that counts a stream's `read` calls turns it off.
  bool multishot_recv = false;
};

/// The real system calls.
const table& real() noexcept;

/// The table in force (real() unless a test installed another).
const table& get() noexcept;

/// Makes `t` the table in force and returns the previous one. `t` must stay
/// alive until it is replaced. Any thread; meant for test fixtures.
const table* install(const table* t) noexcept;

}  // namespace brigade::detail::sys
