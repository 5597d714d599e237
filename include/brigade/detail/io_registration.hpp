#pragma once
// The task-facing side of the I/O driver: a file descriptor registered with
// the runtime's driver, and the awaiter that suspends a task until that fd
// is ready. Public socket types (brigade/net/...) are built on these two;
// the driver internals (src/io/) stay private, so the public ABI is the same
// whether io_uring was compiled in or not.
//
// Readiness protocol (both backends)
//   Every registered fd has, per direction (read, write), a sequence number
//   that the driver bumps each time it learns the fd became ready, and at
//   most one waiting awaiter.
//   1. An operation reads the sequence number (ticket()) BEFORE trying its
//      syscall. Reason: readiness that arrives between the syscall's EAGAIN
//      and the suspension must not be lost (edge-triggered epoll reports it
//      only once).
//   2. On EAGAIN it awaits ready(dir, ticket). Under the fd's lock the
//      awaiter compares the ticket: changed means "ready meanwhile", retry at
//      once; unchanged links the awaiter (taking a task reference for the
//      waker) and, on io_uring, arms a one-shot poll.
//   3. The driver, under the fd's lock, bumps the number, unlinks the
//      awaiter and marks it ready (release); after unlocking it wakes the
//      task (consuming the reference).
//   4. The worker polls the node: ready resumes; cancel withdraws it under
//      the lock if still linked (the await throws brigade::cancelled; no
//      data was consumed: readiness is not data), else the wake won.
//   5. A destroyed awaiter (runtime shutdown) unlinks itself.
//   The operation then retries its syscall. Wake-ups may be spurious (a
//   readiness the previous operation already consumed): the retry gets
//   EAGAIN and waits again with a fresh ticket.
//
// Ownership: an io_registration owns its fd; reset() deregisters it from
// the driver, then closes it. The driver keeps its bookkeeping alive until
// no event for the fd can still be in flight.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <coroutine>
#include <cstdint>

namespace brigade::detail {

struct io_source;    // src/io/io_source.hpp
struct io_internal;  // src/io/io_source.cpp: the driver side of the awaiter

enum class io_interest : std::uint8_t { read = 0, write = 1 };

/// Suspends the current task until its fd is ready in one direction.
class readiness_awaiter {
 public:
  readiness_awaiter(io_source* source, io_interest interest, std::uint32_t ticket) noexcept
      : source_(source), ticket_(ticket), interest_(interest) {}
  readiness_awaiter(const readiness_awaiter&) = delete;
  readiness_awaiter& operator=(const readiness_awaiter&) = delete;
  ~readiness_awaiter();

  bool await_ready() const noexcept { return false; }
  /// Throws std::logic_error outside a spawned task, or when another task
  /// already waits on the same fd in the same direction.
  bool await_suspend(std::coroutine_handle<> awaiting);
  /// Throws brigade::cancelled when the task was aborted while waiting.
  void await_resume() const;

 private:
  friend struct io_internal;
  enum : std::uint8_t { idle = 0, linked = 1, ready = 2 };

  wait_node node_;  // first member: poll() recovers the awaiter from it
  io_source* source_;
  task_header* task_ = nullptr;
  atomic<std::uint8_t> state_{idle};
  std::uint32_t ticket_;
  io_interest interest_;
  bool withdrawn_ = false;
};

/// A file descriptor registered with the current runtime's I/O driver.
/// Move-only; owns the fd.
class io_registration {
 public:
  io_registration() noexcept = default;
  io_registration(io_registration&& other) noexcept : source_(other.source_) {
    other.source_ = nullptr;
  }
  io_registration& operator=(io_registration&& other) noexcept {
    if (this != &other) {
      reset();
      source_ = other.source_;
      other.source_ = nullptr;
    }
    return *this;
  }
  io_registration(const io_registration&) = delete;
  io_registration& operator=(const io_registration&) = delete;
  ~io_registration() { reset(); }

  /// Registers `fd` (non-blocking, owned from now on: closed on failure
  /// too) with the I/O driver of the runtime this thread runs.
  /// Throws std::logic_error outside a runtime, std::system_error when the
  /// driver refuses the fd.
  static io_registration attach(int fd);

  /// Deregisters and closes the fd. Idempotent.
  void reset() noexcept;

  bool valid() const noexcept { return source_ != nullptr; }
  int fd() const noexcept;
  /// The driver's bookkeeping of the fd (src/io/io_source.hpp), for the
  /// completion-based operations of the io_uring backend.
  io_source* source() const noexcept { return source_; }

  /// The readiness sequence number of `interest` (step 1 above).
  std::uint32_t ticket(io_interest interest) const noexcept;
  /// Awaits readiness newer than `ticket` (step 2 above).
  readiness_awaiter ready(io_interest interest, std::uint32_t ticket) const noexcept {
    return readiness_awaiter{source_, interest, ticket};
  }

  /// Marks `interest` busy for one operation, so that two concurrent
  /// readers (or writers) of one fd are detected.
  class op_guard {
   public:
    op_guard(const op_guard&) = delete;
    op_guard& operator=(const op_guard&) = delete;
    ~op_guard();

   private:
    friend class io_registration;
    op_guard(io_source* s, io_interest i) noexcept : source_(s), interest_(i) {}
    io_source* source_;
    io_interest interest_;
  };
  /// Throws std::logic_error("<what>: ...") when another operation of the
  /// same direction is in progress, or when the registration is empty.
  [[nodiscard]] op_guard begin(io_interest interest, const char* what) const;

 private:
  io_source* source_ = nullptr;
};

}  // namespace brigade::detail
