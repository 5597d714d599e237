#pragma once
// The type-erased state of a brigade::task_group.
//
// Moving parts
//   One heap block per group, reference counted: the task_group holds one
//   reference, and every child whose completion has not yet been delivered
//   holds one. So a child that completes on another worker while the group
//   is being dropped still finds the state alive (the group's frame may be
//   gone; the state is not).
//   Each child has a group_child record (one small allocation per spawn): it
//   is the child's completion_listener, and it sits on the spawn-order list
//   (all_) and, once finished, on the completion-order FIFO (finished_).
//   The group holds the child's join interest (a reference on its header)
//   until the result is taken or dropped.
//
// Protocol
//   1. spawn(): prepare the child (SPAWNED, joined), register its record as
//      the listener, link it under the lock (live_ + 1, a state reference),
//      then hand it to the scheduler outside the lock (a scheduler that shut
//      down completes it inside spawn(), calling the listener).
//   2. Completion (any worker, on_child_complete): under the lock, live_ - 1
//      and the record moves to finished_; the first failure (other than
//      brigade::cancelled) is remembered and, with on_error::cancel_siblings,
//      aborts every running sibling at once. If a waiter's condition now
//      holds, the waiter is unregistered and marked ready (release) under the
//      lock and its task is woken after unlocking. Finally the child's state
//      reference is dropped.
//   3. The waiter (join_all / join_next) is one task at a time. It waits for
//      "no child running" (join_all) or "a finished child, or none running"
//      (join_next). If the waiting task is aborted (its poll sees cancel),
//      every running child is aborted and the waiter switches to "no child
//      running": it withdraws only when every child finished, then throws
//      brigade::cancelled. No child outlives an await that was cancelled.
//   4. Dropping the group (close()): under the lock, closed_ is set and every
//      running child is aborted; finished children are released at once
//      (failures nobody took go to the unhandled-exception hook). A running
//      child's record is released by its own completion (step 2 sees
//      closed_). The children are detached: nothing waits for them.
//
// Which thread touches what: everything but refs_ and the waiter's ready_
// flag is guarded by mutex_.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/task_header.hpp>

#include <brigade/source_location.hpp>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string_view>

namespace brigade {

/// What a task_group does when a child fails.
enum class on_error : std::uint8_t {
  /// Abort every other child at the first failure (the default).
  cancel_siblings,
  /// Let the other children run to completion.
  keep_going,
};

}  // namespace brigade

namespace brigade::detail {

class task_group_state;

/// One child of a task group (see the protocol).
struct group_child {
  completion_listener listener;  // first member: a listener* is a group_child*
  task_group_state* group = nullptr;
  task_header* task = nullptr;
  group_child* prev = nullptr;  // spawn order (all_)
  group_child* next = nullptr;
  group_child* next_finished = nullptr;  // completion order (finished_)
  bool finished = false;

  /// The outcome a waiter reads: its result, an error, or cancelled.
  bool ended_cancelled() const noexcept;
  bool failed() const noexcept;  // an exception other than brigade::cancelled
};

class task_group_state {
 public:
  enum class want : std::uint8_t { one, all };

  static task_group_state* create(on_error policy);
  task_group_state(const task_group_state&) = delete;
  task_group_state& operator=(const task_group_state&) = delete;

  void add_ref() noexcept {
    // relaxed: a new reference is always made from an existing one.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept;

  /// Step 1. `header` was released from a valid task. Any thread that
  /// drives `sched`.
  void spawn(task_header* header, scheduler& sched, std::string_view name,
             const source_location& location) noexcept;

  /// Children not yet taken (running, or finished and not joined).
  std::size_t size() const noexcept;
  /// Children still running.
  std::size_t running() const noexcept;
  /// Aborts every running child (they finish as cancelled).
  void abort_all() noexcept;
  /// Step 4: aborts and detaches the running children, releases the rest.
  /// Returns how many children were still running.
  std::size_t close() noexcept;

  /// join_next: the first finished child (unlinked, the caller owns it), or
  /// null when none finished.
  group_child* pop_finished() noexcept;
  /// join_all: every child in spawn order (each unlinked), once none runs;
  /// also resets the first-failure record. Returns the head of a list linked
  /// through `next`; `first_failure` receives the first failed child.
  group_child* take_all(group_child*& first_failure) noexcept;
  /// Drops a taken child: its join interest (a failure not `observed` goes to
  /// the unhandled-exception hook) and its record.
  static void drop(group_child* c, bool observed) noexcept;

  class wait_awaiter;

 private:
  explicit task_group_state(on_error policy) noexcept : policy_(policy) {}
  ~task_group_state() = default;

  static void on_child_complete(completion_listener* l, task_header* child) noexcept;
  void abort_running_locked() noexcept;
  bool satisfied_locked(want w) const noexcept {
    return live_ == 0 || (w == want::one && finished_head_ != nullptr);
  }
  void unlink_locked(group_child* c) noexcept;

  friend class wait_awaiter;

  mutable std::mutex mutex_;
  atomic<std::uint32_t> refs_{1};
  on_error policy_;
  bool closed_ = false;
  bool failing_ = false;   // cancel_siblings after a failure: new children are aborted
  std::size_t count_ = 0;  // children on all_
  std::size_t live_ = 0;   // children running
  group_child* all_head_ = nullptr;
  group_child* all_tail_ = nullptr;
  group_child* finished_head_ = nullptr;
  group_child* finished_tail_ = nullptr;
  group_child* first_failure_ = nullptr;
  wait_awaiter* waiter_ = nullptr;
};

/// Waits for a condition on the group (step 3). Returns from co_await
/// whether the waiting task was aborted meanwhile (then every child has
/// finished).
class task_group_state::wait_awaiter {
 public:
  wait_awaiter(task_group_state& g, want w) noexcept : group_(g), want_(w) {}
  wait_awaiter(const wait_awaiter&) = delete;
  wait_awaiter& operator=(const wait_awaiter&) = delete;
  ~wait_awaiter();

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> awaiting);
  /// True when the waiting task was aborted (every child finished anyway).
  bool await_resume() const noexcept { return parent_cancelled_; }

 private:
  struct owned_node : wait_node {
    wait_awaiter* owner = nullptr;
  };
  static bool poll(wait_node* node, bool cancel) noexcept;
  friend class task_group_state;

  task_group_state& group_;
  want want_;  // guarded by the group's mutex once registered
  owned_node node_{};
  task_header* task_ = nullptr;
  bool registered_ = false;  // guarded by the group's mutex
  bool parent_cancelled_ = false;
  bool yield_once_ = false;
  atomic<bool> ready_{false};
};

}  // namespace brigade::detail
