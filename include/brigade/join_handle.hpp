#pragma once
// brigade::join_handle<T>: owns the right to a spawned task's result.

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/spawned_result.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/detail/wait_info.hpp>
#include <brigade/task.hpp>

#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <utility>

namespace brigade {

namespace detail {

/// Shared by every awaitable that waits for a spawned task to complete.
/// Registers the current task as the join waker (holding a reference the
/// completion consumes), polls COMPLETE, withdraws on cancellation.
class join_wait {
 public:
  explicit join_wait(task_header* target) noexcept : target_(target) {}
  join_wait(const join_wait&) = delete;
  join_wait& operator=(const join_wait&) = delete;
  ~join_wait() {
    // Only reached registered when the waiting frame is destroyed at runtime
    // shutdown: withdraw so the target never wakes a dead awaiter.
    if (registered_ && target_->unset_join_waker()) waiter_->release();
  }

  /// true: ready now (or the caller's task is cancelled: check withdrawn()).
  bool ready() noexcept {
    task_header* me = current_task();
    if (me != nullptr && me->is_cancelled()) {
      withdrawn_ = true;
      return true;
    }
    return target_->is_complete() && consume_budget();
  }

  /// Returns true to suspend.
  bool suspend(std::coroutine_handle<> awaiting) {
    task_header* me = current_task();
    if (me == nullptr) {
      throw std::logic_error("brigade: a join must be awaited inside a spawned task");
    }
    // The child may still be queued on this very worker: it runs now (or
    // next), depth-first, instead of after everything queued before it.
    if (!target_->is_complete() && detail::help_join(target_) && target_->is_complete()) {
      return false;  // it ran to completion: resume with its result
    }
    if (target_->is_complete()) {
      // Ready, but the coop budget is spent: yield once, then deliver.
      me->resume_ = reinterpret_cast<std::uintptr_t>(awaiting.address());
      me->wake_by_ref();
      return true;
    }
    detail::set_wait(me, detail::wait_kind::join, target_);
    node_.poll = &poll;
    node_.handle = awaiting;
    waiter_ = me;
    me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
    me->add_ref();  // the waker's reference, consumed by the completion's wake
    registered_ = true;
    if (!target_->set_join_waker(reinterpret_cast<std::uintptr_t>(me))) {
      registered_ = false;
      me->release();
      return false;
    }
    return true;
  }

  bool withdrawn() const noexcept { return withdrawn_; }

 private:
  static bool poll(wait_node* node, bool cancel) noexcept {
    auto* self =
        reinterpret_cast<join_wait*>(reinterpret_cast<char*>(node) - offsetof(join_wait, node_));
    if (self->target_->is_complete()) {
      self->registered_ = false;  // the completion consumed our reference
      return true;
    }
    if (cancel && self->target_->unset_join_waker()) {
      self->registered_ = false;
      self->withdrawn_ = true;
      self->waiter_->release();
      return true;
    }
    return false;
  }

  wait_node node_;
  task_header* target_;
  task_header* waiter_ = nullptr;
  bool registered_ = false;
  bool withdrawn_ = false;
};

}  // namespace detail

/// The handle to a spawned task: await it for the task's result.
///
/// Dropping the handle detaches the task (it keeps running). A detached task
/// that fails is reported to the runtime's unhandled_exception hook, as is a
/// failure whose handle is dropped without being awaited.
///
/// Lifetime: when the task finishes, its frame (with the parameters it took
/// by value) is destroyed at once, as Tokio drops a finished future; the
/// result waits in a small stash at the end of the task's block until the
/// handle takes it. A result never taken is destroyed when the handle goes
/// (on the thread that drops it) if the task had finished, else when the
/// task finishes (on its worker); a detached task's result too. One
/// exception: a result type whose move constructor may throw stays in the
/// frame, which then lives until the handle is consumed or dropped
/// (docs/pitfalls.md §8).
///
/// Resumes on: the worker that runs the awaiting task after the spawned task
/// completes (on current_thread, the runtime's thread).
/// Cancellation: cancellable. If the awaiting task is aborted, the await
/// throws brigade::cancelled; the spawned task keeps running and this handle
/// stays valid (await it again, or abort it).
/// Thread safety: abort() and is_finished() may be called from any thread;
/// awaiting, detach and destruction need exclusive access to the handle.
/// Throws: the task's exception; brigade::cancelled if the task was aborted
/// (or destroyed by runtime shutdown); std::logic_error when awaited after
/// its result was taken, or outside a spawned task.
template <class T>
class [[nodiscard]] join_handle {
 public:
  join_handle() noexcept = default;
  explicit join_handle(detail::task_header* header) noexcept : header_(header) {}
  join_handle(join_handle&& other) noexcept
      : header_(std::exchange(other.header_, nullptr)),
        observed_(std::exchange(other.observed_, false)) {}
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      reset();
      header_ = std::exchange(other.header_, nullptr);
      observed_ = std::exchange(other.observed_, false);
    }
    return *this;
  }
  ~join_handle() { reset(); }

  /// Requests cancellation: the task throws brigade::cancelled at its next
  /// cancellable suspension point (or never starts if it has not yet run).
  /// A task that already completed is not affected. Any thread.
  void abort() noexcept {
    if (header_ != nullptr) header_->abort();
  }
  /// True once the task completed (with a value, an exception, or cancelled).
  bool is_finished() const noexcept { return header_ != nullptr && header_->is_complete(); }
  /// Lets the task run on without a handle. The handle becomes empty.
  void detach() noexcept { reset(); }
  /// True while the handle refers to a task.
  bool valid() const noexcept { return header_ != nullptr; }

  class awaiter {
   public:
    explicit awaiter(join_handle& owner) : owner_(owner), wait_(owner.checked_header()) {}
    bool await_ready() noexcept { return wait_.ready(); }
    bool await_suspend(std::coroutine_handle<> awaiting) { return wait_.suspend(awaiting); }
    T await_resume() {
      if (wait_.withdrawn()) throw cancelled{};
      return owner_.take_result();
    }

   private:
    join_handle& owner_;
    detail::join_wait wait_;
  };

  /// Waits for the task and returns its result (see the class comment).
  awaiter operator co_await() & { return awaiter{*this}; }
  awaiter operator co_await() && { return awaiter{*this}; }

  /// The task's result once is_finished(); rethrows its exception.
  /// Used by block_on; in a task, co_await the handle instead.
  T take_result() {
    detail::task_header* h = checked_header();
    if (!h->is_complete()) {
      throw std::logic_error("brigade: join_handle result taken before completion");
    }
    // The handle is consumed whatever the outcome: the guard drops our
    // reference after the result was moved out (or while the exception,
    // which holds its own reference, propagates).
    observed_ = true;
    struct consume {  // drops our reference on every path, after the take
      join_handle& self;
      ~consume() { self.reset(); }
    } consumed{*this};
    return detail::take_spawned_result<T>(h);
  }

  /// For brigade internals (when_all, block_on).
  detail::task_header* header() const noexcept { return header_; }

 private:
  detail::task_header* checked_header() const {
    if (header_ == nullptr)
      throw std::logic_error("brigade: join_handle is empty (already joined or detached)");
    return header_;
  }
  void reset() noexcept {
    if (header_ != nullptr) {
      std::exchange(header_, nullptr)->drop_join_interest(observed_);
      observed_ = false;
    }
  }

  detail::task_header* header_ = nullptr;
  bool observed_ = false;
};

}  // namespace brigade
