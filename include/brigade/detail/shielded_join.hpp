#pragma once
// Running a task shielded from the enclosing task's abort (uncancellable).
//
// Until the task header has a shield counter (see docs/guide/cancellation.md,
// "Shielding"), a shielded task runs as its own spawned task: its awaits
// consult its own CANCELLED bit, which nobody sets, so they never throw.
// The parent waits for it through a completion listener whose poll ignores
// cancel requests: the parent stays suspended until the child completes,
// and its abort takes effect at its next cancellable await.
//
// Protocol
//   1. await_suspend: prepare the child (SPAWNED, joined), register this
//      object as its completion listener, record the parent and take a
//      reference for the wake, then hand the child to the scheduler.
//      A scheduler that shut down completes the child at once (cancelled):
//      the listener may run inside spawn(), which is harmless.
//   2. The child completes (any worker): the listener sets done_ (release;
//      its last touch of this object) and wakes the parent.
//   3. The parent's poll is ready only on done_, whatever `cancel` says.
//   4. Runtime shutdown may destroy the parent frame first: the destructor
//      withdraws the listener and aborts the child (nothing runs then).

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/spawned_result.hpp>
#include <brigade/detail/wait_info.hpp>
#include <brigade/task.hpp>

#include <coroutine>
#include <stdexcept>
#include <utility>

namespace brigade::detail {

template <class T>
class shielded_join {
 public:
  explicit shielded_join(task<T> t, const source_location& loc) noexcept
      : task_(std::move(t)), location_(loc) {}
  shielded_join(const shielded_join&) = delete;
  shielded_join& operator=(const shielded_join&) = delete;
  ~shielded_join() {
    if (child_ == nullptr) return;
    if (!done_.load(memory_order_acquire)) {
      // Only at runtime shutdown (the parent frame is destroyed while the
      // child still runs): nothing else runs, so the withdrawal is final.
      if (child_->unset_join_waker()) parent_->release();
      child_->abort();
    }
    child_->drop_join_interest(observed_);
  }

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> awaiting) {
    task_header* me = current_task();
    if (me == nullptr) throw std::logic_error("brigade::uncancellable awaited outside a task");
    scheduler* sched = current_scheduler();
    if (!task_.valid()) throw std::invalid_argument("brigade::uncancellable: empty task");
    task_header* h = task_header::from_frame(task_.release().address());
    prepare_spawn(h, *sched, "uncancellable", location_, join_kind::joined);
    listener_.on_complete = &on_complete;
    listener_.owner = this;
    h->joiner_ =
        reinterpret_cast<std::uintptr_t>(static_cast<completion_listener*>(&listener_)) | 1u;
    // relaxed: published to the worker that runs the child by the queue push.
    h->state_.fetch_or(task_header::join_waker, memory_order_relaxed);
    child_ = h;
    parent_ = me;
    set_wait(me, wait_kind::child, h);
    node_.poll = &poll;
    node_.handle = awaiting;
    node_.owner = this;
    me->resume_ = reinterpret_cast<std::uintptr_t>(static_cast<wait_node*>(&node_)) | 1u;
    me->add_ref();  // consumed by the child's completion (step 2)
    sched->spawn(h);
    return true;
  }

  T await_resume() {
    observed_ = true;
    return take_spawned_result<T>(child_);
  }

 private:
  static bool poll(wait_node* node, bool /*cancel: shielded*/) noexcept {
    shielded_join* self = static_cast<owned_node*>(node)->owner;
    // acquire: pairs with the release in on_complete (the child's result).
    return self->done_.load(memory_order_acquire);
  }

  static void on_complete(completion_listener* l, task_header* /*child*/) noexcept {
    shielded_join* self = static_cast<owned_listener*>(l)->owner;
    task_header* parent = self->parent_;
    // release: pairs with the acquire in poll(); last touch of this object.
    self->done_.store(true, memory_order_release);
    parent->wake_by_val();
  }

  struct owned_node : wait_node {
    shielded_join* owner = nullptr;
  };
  struct owned_listener : completion_listener {
    shielded_join* owner = nullptr;
  };

  owned_listener listener_;
  owned_node node_;
  task<T> task_;
  source_location location_;
  task_header* child_ = nullptr;
  task_header* parent_ = nullptr;
  bool observed_ = false;
  atomic<bool> done_{false};
};

}  // namespace brigade::detail
