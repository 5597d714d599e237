#pragma once
// The driver side of a registered fd (see detail/io_registration.hpp for the
// readiness protocol) and the interface every backend's core implements.
//
// Lifetime of an io_source
//   1. attach(): allocated, its fd registered with the backend (epoll_ctl
//      ADD; io_uring: nothing until a waiter arms a poll).
//   2. While registered, the backend reaches it from events (epoll data.ptr,
//      io_uring user_data) and fires it (io_internal::fire).
//   3. reset(): the backend deregisters the fd and closes it, then frees the
//      source only when no event naming it can still be delivered: epoll
//      defers the free to the next poll() (an epoll_wait batch that started
//      before the DEL may still name it); io_uring frees it when its last
//      in-flight poll completes.
//   4. A source whose runtime is gone (orphaned reactor) is freed at once:
//      nobody reads events any more.
//
// Locking: source.mutex_ guards writes to sequence_, and waiter_, poll_armed_, inflight_,
// detached_. Lock order: a source's mutex_ before a backend's own lock
// (io_uring submits under both); backends never hold their own lock while
// taking a source's.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/io_registration.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace brigade::detail {

class reactor;
class completion_awaiter;  // src/io/completion.hpp
struct accept_queue;       // src/io/accept_queue.hpp
struct recv_queue;         // src/io/recv_queue.hpp

struct io_source {
  int fd_ = -1;
  std::shared_ptr<reactor> reactor_;  // keeps the backend core alive
  std::mutex mutex_;
  /// Written under mutex_ (fire), read without it by ticket().
  atomic<std::uint32_t> sequence_[2] = {0, 0};
  readiness_awaiter* waiter_[2] = {nullptr, nullptr};
  atomic<bool> busy_[2] = {false, false};
  // io_uring only: a one-shot poll per direction is in flight.
  bool poll_armed_[2] = {false, false};
  int inflight_ = 0;
  bool detached_ = false;
  /// A completion-based operation was submitted on the fd: remove() cancels
  /// what may still be in flight.
  atomic<bool> ops_used_{false};
  io_source* next_release_ = nullptr;  // the reactor's release list
  /// The reader's hint (stream_ops; one reader at a time, op_guard): a
  /// read came back short when the read ticket was drained_ticket_. While
  /// the ticket is unchanged no readiness arrived since: the fd is empty.
  std::uint32_t drained_ticket_ = 0;
  bool drained_ = false;
  /// epoll saw the peer's FIN, a hang-up or an error (sticky): the hint
  /// above is off, the end or the error must be read.
  atomic<bool> read_closed_{false};
  /// io_uring: the stream's multishot-recv queue (src/io/recv_queue.hpp),
  /// created by its first reader that waits (one reader at a time,
  /// op_guard) and released by the reactor's remove() before the close.
  recv_queue* recvq_ = nullptr;
};

/// A backend's shared core: owned by the io_driver and by every source.
class reactor {
 public:
  reactor() = default;
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;
  virtual ~reactor() = default;

  /// Registers the source's fd. Throws std::system_error.
  virtual void add(io_source& source) = 0;
  /// A waiter just linked on `interest` (io_uring arms a poll; epoll, whose
  /// fds are registered for both directions once, does nothing). Called
  /// with source.mutex_ held: the source cannot be released meanwhile.
  virtual void armed(io_source& source, io_interest interest) noexcept = 0;
  /// Deregisters and closes the fd, then frees the source when safe.
  /// io_uring also cancels the completion-based operations still in flight
  /// on the fd (they fail with ECANCELED, as a readiness wait fails with
  /// the retried syscall's EBADF).
  virtual void remove(io_source* source) noexcept = 0;

  /// Completion-based operations (src/io/completion.hpp): io_uring only.
  virtual bool supports_completions() const noexcept { return false; }
  /// Submits `op` (its completion wakes its task). Any thread.
  virtual void submit(completion_awaiter& op) noexcept;
  /// Asks the kernel to cancel `op` (its own completion still follows).
  virtual void cancel(completion_awaiter& op) noexcept;
  /// Cancels `op` synchronously and forgets its completion (its frame is
  /// being destroyed while nobody polls the driver).
  virtual void abandon(completion_awaiter& op) noexcept;
  /// Multishot accept (src/io/accept_queue.hpp), io_uring only: submits
  /// one for `queue`'s listener; its CQEs go to accept_queue::deliver.
  /// False when the ring is gone. Called with queue.mutex_ held.
  virtual bool submit_accept(accept_queue& queue) noexcept;
  /// Asks the kernel to end it (its final CQE still follows). Called with
  /// queue.mutex_ held.
  virtual void cancel_accept(accept_queue& queue) noexcept;
  /// Multishot recv into the reactor's provided-buffer ring
  /// (src/io/recv_queue.hpp), io_uring only.
  virtual bool supports_multishot_recv() const noexcept { return false; }
  /// Submits one for `queue`'s stream; its CQEs go to recv_queue::deliver.
  /// False when the ring is gone. Called with queue.mutex_ held.
  virtual bool submit_recv(recv_queue& queue) noexcept;
  /// Asks the kernel to end it (its final CQE still follows). Called with
  /// queue.mutex_ held.
  virtual void cancel_recv(recv_queue& queue) noexcept;
  /// Gives `count` buffers (ids) back to the ring once their bytes were
  /// copied out. Any thread.
  virtual void recycle(const std::uint16_t* ids, std::size_t count) noexcept;

  /// Linked waiters (has_pending_io).
  atomic<std::int64_t> waiting_{0};
};

/// The operations on awaiters the drivers need (friend of readiness_awaiter).
struct io_internal {
  /// Bumps the sequence numbers of the directions that became ready and
  /// wakes their waiters (step 3 of the protocol). Driver thread.
  static void fire(io_source& source, bool readable, bool writable) noexcept;
  /// fire() in two halves, for a backend that must update its own
  /// bookkeeping of the source in the same critical section: fire_locked
  /// (source.mutex_ held) unlinks the waiters into `woken`; wake (after
  /// unlocking; the source may be gone by then) wakes their tasks.
  static void fire_locked(io_source& source, bool readable, bool writable,
                          task_header* (&woken)[2]) noexcept;
  static void wake(task_header* const (&woken)[2]) noexcept;
  /// readiness_awaiter's wait_node poll (step 4).
  static bool poll(wait_node* node, bool cancel) noexcept;
};

/// The reactor of the runtime this thread runs (throws std::logic_error
/// outside a runtime).
std::shared_ptr<reactor> current_reactor(const char* what);

}  // namespace brigade::detail
