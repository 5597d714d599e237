#pragma once
// The task header: the unit of scheduling (DESIGN §2).
//
// Moving parts
//   Every coroutine frame of a brigade::task<T> is allocated as one block:
//
//       [ task_header (80 bytes) ][ coroutine frame: resume fn, destroy fn,
//                                   promise, locals, awaiters ... ]
//
//   The header sits in front of the frame (frame_allocator adds the prefix),
//   so spawning allocates nothing beyond the frame, and the header can outlive
//   the frame's contents when a task is destroyed at shutdown while a
//   join_handle still refers to it. Run queues hold task_header pointers,
//   linked through next_ (intrusive: pushing allocates nothing).
//
// The state word (state_, 64 bits)
//   bit 0  RUNNING        a worker is resuming the task right now
//   bit 1  NOTIFIED       the task is queued, or must be queued again when
//                         the current run ends
//   bit 2  COMPLETE       the root coroutine finished (or its frame was
//                         destroyed at shutdown); the result is final
//   bit 3  CANCELLED      abort was requested; delivered at the next
//                         cancellable suspension
//   bit 4  JOIN_INTEREST  a join_handle (or a listener) will read the result
//   bit 5  JOIN_WAKER     joiner_ is registered and must be woken at completion
//   bit 6  SPAWNED        set once by spawn, before the header is published
//   bit 7  STARTED        the body has been resumed at least once
//   bit 8  FRAME_GONE     the frame was destroyed at shutdown (or by the
//                         last reference): the task counts as cancelled
//   bit 9  FRAME_RELEASED the frame was destroyed when the task completed
//                         (so its parameters die then, as in Tokio); a
//                         value result was first moved to the result stash
//   bit 10 RESULT_STASHED the stash at the end of the block holds a live
//                         value (its destructor is in the stash too)
//   bits 32..63           reference count
//
// References
//   Held by: the scheduler (from spawn until completion), the join_handle or
//   listener, and every registered waker (a wait_node that may still call
//   wake). The last release destroys the frame (if still there) and frees the
//   block. A queued task needs no reference of its own: it cannot complete
//   while queued, so the scheduler's reference covers it.
//
// Wake protocol (why resumes are polled)
//   1. An awaiter that suspends calls suspend_on(node): it records its
//      coroutine handle in the node and the node in resume_. It takes a
//      reference for whoever will wake it.
//   2. The primitive fires: it unlinks the node under its own lock, marks it
//      ready, and calls wake_by_val() after unlocking (the reference it holds
//      keeps the header alive in that window).
//   3. The worker that runs the task polls the node before resuming. A node
//      that is not ready is not resumed: the run was an abort request or a
//      stale wake, both harmless. This is what makes abort race-free: abort
//      only sets CANCELLED and schedules the task; the poll (on the worker
//      that owns the task) asks the awaiter to withdraw, and it either
//      withdraws (await_resume throws brigade::cancelled) or reports that its
//      operation already completed (the value is delivered, nothing is lost).
//
// Which thread touches what
//   state_            any thread, atomically
//   next_             the queue that holds the task
//   resume_, exception_, flags in frame_info_
//                     the thread that holds RUNNING (or owns the unspawned task)
//   joiner_           written by the joiner before it sets JOIN_WAKER (release),
//                     read by the completing worker after it sees it (acquire)
//   name_, location_, sched_
//                     written before the header is published, then read-only

#include <brigade/detail/atomic.hpp>

#include <brigade/source_location.hpp>
#include <coroutine>
#include <cstdint>
#include <exception>

namespace brigade::detail {

class scheduler;
struct task_header;

/// A suspension that must be polled before its coroutine is resumed.
/// Lives inside an awaiter (so inside the waiting frame): no allocation.
struct wait_node {
  /// Called by the worker about to resume the task (it holds RUNNING).
  /// Returns true when the coroutine may resume: the operation completed, or
  /// `cancel` is set and the awaiter withdrew itself from its primitive.
  using poll_fn = bool (*)(wait_node* self, bool cancel) noexcept;
  poll_fn poll = nullptr;
  std::coroutine_handle<> handle = {};
};

/// Something told when a spawned task completes, instead of a joining task.
/// Used by when_all / when_any / block_on.
struct completion_listener {
  void (*on_complete)(completion_listener* self, task_header* task) noexcept = nullptr;
};

/// What a state transition asks its caller to do next.
enum class notify_outcome : std::uint8_t { do_nothing, submit };
enum class idle_outcome : std::uint8_t { idle, requeue };

struct task_header {
  static constexpr std::uint64_t running = 1u << 0;
  static constexpr std::uint64_t notified = 1u << 1;
  static constexpr std::uint64_t complete = 1u << 2;
  static constexpr std::uint64_t cancelled = 1u << 3;
  static constexpr std::uint64_t join_interest = 1u << 4;
  static constexpr std::uint64_t join_waker = 1u << 5;
  static constexpr std::uint64_t spawned = 1u << 6;
  static constexpr std::uint64_t started = 1u << 7;
  static constexpr std::uint64_t frame_gone = 1u << 8;
  static constexpr std::uint64_t frame_released = 1u << 9;
  static constexpr std::uint64_t result_stashed = 1u << 10;
  static constexpr int ref_shift = 32;
  static constexpr std::uint64_t ref_one = std::uint64_t{1} << ref_shift;

  atomic<std::uint64_t> state_{0};
  task_header* next_ = nullptr;
  /// Innermost suspended coroutine: a coroutine_handle address, or a
  /// wait_node* with bit 0 set (poll before resuming).
  std::uintptr_t resume_ = 0;
  scheduler* sched_ = nullptr;
  /// Unspawned: the awaiting coroutine (continuation). Spawned: a
  /// task_header* to wake, or a completion_listener* with bit 0 set.
  std::uintptr_t joiner_ = 0;
  char* name_ = nullptr;  // owned; null when unnamed
  source_location location_{};
  std::exception_ptr exception_{};
  /// Position in the scheduler's registry (task_registry.hpp): the shard in
  /// bits 26..31 (written once, at insert) and the index within the shard in
  /// bits 0..25 (changed under the shard's lock when another task is
  /// removed; all ones when not registered). Atomic so that a worker can read
  /// the shard of a task without holding that lock.
  atomic<std::uint32_t> registry_slot_{0xffffffffu};
  std::uint32_t frame_size_ = 0;
  /// Where the task waits (wait_info.hpp): a wait_kind in bits 0..7 and a
  /// payload (an address, fd or deadline) above. Written (relaxed) by the
  /// thread holding RUNNING as the task suspends, cleared when it resumes;
  /// read by dump_tasks and the tracer, which show it only for idle tasks.
  atomic<std::uint64_t> wait_{0};

  task_header() noexcept = default;
  task_header(const task_header&) = delete;
  task_header& operator=(const task_header&) = delete;
  ~task_header() { delete[] name_; }

  // ---- layout ----
  // 80 bytes; 96 where source_location is three words (clang 14).
  static constexpr std::size_t prefix_size = sizeof(source_location) <= 8 ? 80 : 96;
  void* frame() noexcept { return reinterpret_cast<char*>(this) + prefix_size; }
  static task_header* from_frame(void* frame) noexcept {
    return reinterpret_cast<task_header*>(static_cast<char*>(frame) - prefix_size);
  }
  std::coroutine_handle<> frame_handle() noexcept {
    return std::coroutine_handle<>::from_address(frame());
  }

  // ---- the result stash (task.hpp: result_stash) ----
  /// The stash's last word: how to destroy a value never taken. Only valid
  /// for blocks allocated by a task_promise<T> with a non-void T.
  using stash_dtor = void (*)(task_header*) noexcept;
  stash_dtor& stash_destructor() noexcept {
    return *reinterpret_cast<stash_dtor*>(static_cast<char*>(frame()) + frame_size_ -
                                          sizeof(stash_dtor));
  }

  // ---- state transitions (src/runtime/task_header.cpp) ----
  /// A wake: NOTIFIED unless already notified, running (then re-run) or complete.
  notify_outcome transition_to_notified() noexcept;
  /// Abort: CANCELLED, plus NOTIFIED so the worker polls the waiter.
  notify_outcome transition_to_notified_and_cancel() noexcept;
  /// Worker took the task from a queue: NOTIFIED -> RUNNING | STARTED.
  /// Returns the previous state (STARTED clear: first run).
  std::uint64_t transition_to_running() noexcept;
  /// Run ended with the body suspended.
  idle_outcome transition_to_idle() noexcept;
  /// Run ended with the body finished. Returns the previous state.
  /// `extra`: FRAME_RELEASED / RESULT_STASHED, set in the same RMW.
  std::uint64_t transition_to_complete(std::uint64_t extra = 0) noexcept;

  // ---- references ----
  void add_ref() noexcept {
    // relaxed: a new reference is always made from an existing one.
    state_.fetch_add(ref_one, memory_order_relaxed);
  }
  /// Drops one reference; the last one destroys the frame and frees the block.
  void release() noexcept;

  // ---- waking ----
  /// Wakes the task and consumes one reference held by the caller.
  void wake_by_val() noexcept;
  /// Wakes the task; the caller guarantees it stays alive meanwhile.
  void wake_by_ref() noexcept;

  /// Request cancellation (join_handle::abort).
  void abort() noexcept;

  bool is_complete() const noexcept {
    // acquire: pairs with the acq_rel in transition_to_complete, so the
    // result written by the body is visible.
    return (state_.load(memory_order_acquire) & complete) != 0;
  }
  bool is_cancelled() const noexcept {
    return (state_.load(memory_order_relaxed) & cancelled) != 0;
  }

  // ---- joining ----
  /// Registers the joiner (a waiting task, which must hold a reference the
  /// completion consumes) or a listener. Returns false when the task already
  /// completed (nothing registered).
  bool set_join_waker(std::uintptr_t joiner) noexcept;
  /// Withdraws a registered join waker. Returns false when completion already
  /// claimed it (the wake is delivered or on its way).
  bool unset_join_waker() noexcept;
  /// A join_handle goes away. `observed`: its result was taken. When the
  /// task already completed, a result never taken is destroyed here.
  void drop_join_interest(bool observed) noexcept;
  /// The task completed with nobody interested in its result (`state`: the
  /// state word with COMPLETE): destroys the exception, a stashed value or
  /// the frame kept for a value now, on the calling thread, rather than
  /// when the last reference goes (the scheduler may release its reference
  /// a while after completion: registry_shard.hpp). Called exactly once,
  /// by whichever of completion and drop_join_interest comes second.
  void discard_result(std::uint64_t state) noexcept;

  /// Reported to the runtime's unhandled-exception hook at most once.
  void report_unobserved_exception() noexcept;

  std::uint32_t ref_count() const noexcept {
    return static_cast<std::uint32_t>(state_.load(memory_order_relaxed) >> ref_shift);
  }
};

static_assert(sizeof(task_header) <= task_header::prefix_size);

/// Destroys a header and returns its block to the frame allocator.
void free_task_block(task_header* header) noexcept;
static_assert(task_header::prefix_size % 16 == 0);

}  // namespace brigade::detail
