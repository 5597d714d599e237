#pragma once
// Where a task waits: a one-word description an awaiter records in the task
// header as it suspends (task_header::wait_), shown by runtime::dump_tasks
// ("mutex 0x7f..", "sleep until +12.000 ms", "read fd 7") and by the tracer
// (trace_event::waits_on).
//
// Why one word in the header, not a pointer into the awaiter: dump_tasks
// runs on any thread while the task may be resumed and its awaiter destroyed
// at any moment. A word in the header is read atomically and never points
// into memory that may be gone, so the dump never blocks a worker and never
// reads a dead frame.
//
// Encoding: bits 0..7 the wait_kind, bits 8..63 the payload, whose meaning
// the kind fixes (an object address, an fd, or a deadline in microseconds on
// the runtime's clock). 0 means nothing recorded.

#include <brigade/detail/task_header.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace brigade::detail {

enum class wait_kind : std::uint8_t {
  none = 0,
  // payload: a deadline (microseconds since the steady clock's epoch)
  sleep,
  timer,
  // payload: a file descriptor
  read_fd,
  write_fd,
  // payload: the address of the object waited on
  mutex,
  shared_mutex,
  semaphore,
  notify,
  barrier,
  latch,
  oneshot,
  mpsc_recv,
  mpsc_send,
  broadcast,
  watch,
  join,
  task_group,
  future,
  cancellation,
  blocking,
  child,
  parallel,
  io_op,  // payload: a file descriptor (completion-based operation)
  last_ = io_op,
};

inline constexpr int wait_payload_shift = 8;

/// Records where `task` waits. Called by the awaiter on the thread that holds
/// RUNNING, before the suspension is published.
inline void set_wait(task_header* task, wait_kind kind, std::uint64_t payload) noexcept {
  // relaxed: a diagnostic; readers show it only for tasks they see idle.
  task->wait_.store((payload << wait_payload_shift) | static_cast<std::uint64_t>(kind),
                    memory_order_relaxed);
}
inline void set_wait(task_header* task, wait_kind kind, const void* subject) noexcept {
  set_wait(task, kind, static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(subject)));
}
inline void set_wait(task_header* task, wait_kind kind,
                     std::chrono::steady_clock::time_point deadline) noexcept {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(deadline.time_since_epoch()).count();
  set_wait(task, kind, static_cast<std::uint64_t>(us < 0 ? 0 : us));
}
inline void clear_wait(task_header* task) noexcept { task->wait_.store(0, memory_order_relaxed); }

/// "mutex 0x55d0c3a0", "sleep until +12.000 ms", "read fd 7", ... or "" for
/// an empty word. `now` is the runtime clock's current time (deadlines are
/// shown relative to it). Throws std::bad_alloc.
std::string describe_wait(std::uint64_t word, std::chrono::steady_clock::time_point now);

}  // namespace brigade::detail
