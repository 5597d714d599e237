// A task parked on a driver-fed queue (see queue_wait.hpp for the protocol).

#include "io/queue_wait.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/wait_info.hpp>

#include <stdexcept>

namespace brigade::detail {

queue_wait* waited_queue::take_waiter_locked() noexcept {
  queue_wait* w = waiter_;
  if (w != nullptr) {
    waiter_ = nullptr;
    core_->waiting_.fetch_sub(1, memory_order_relaxed);
  }
  return w;
}

task_header* waited_queue::unlink_waiter_locked() noexcept {
  queue_wait* w = take_waiter_locked();
  if (w == nullptr) return nullptr;
  task_header* task = w->task_;
  // release: pairs with the acquire in queue_wait::poll(). The awaiter may
  // be resumed and destroyed from here on: nothing of it is read after.
  w->state_.store(queue_wait::woken, memory_order_release);
  return task;
}

queue_wait::~queue_wait() {
  // relaxed: only this thread links; a woken or withdrawn awaiter needs
  // nothing.
  if (state_.load(memory_order_relaxed) != linked) return;
  bool drop = false;
  {
    std::lock_guard lock(queue_->mutex_);
    if (queue_->waiter_ == this) {  // step 4: the frame dies while parked (shutdown)
      queue_->take_waiter_locked();
      drop = true;
    }
  }
  if (drop) task_->release();
}

bool queue_wait::await_suspend(std::coroutine_handle<> awaiting) {
  task_header* me = current_task();
  if (me == nullptr) throw std::logic_error("brigade I/O awaited outside a spawned task");
  if (me->is_cancelled()) {
    withdrawn_ = true;
    return false;
  }
  std::lock_guard lock(queue_->mutex_);
  if (queue_->has_news_locked()) return false;
  set_wait(me, wait_kind::read_fd, static_cast<std::uint64_t>(static_cast<unsigned>(queue_->fd_)));
  node_.poll = &queue_wait::poll;
  node_.handle = awaiting;
  task_ = me;
  me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
  me->add_ref();  // the waker's reference: consumed by the driver's wake or a withdrawal
  // relaxed: read by this task's own poll and destructor, or under the lock.
  state_.store(linked, memory_order_relaxed);
  queue_->waiter_ = this;
  queue_->core_->waiting_.fetch_add(1, memory_order_relaxed);
  return true;
}

void queue_wait::await_resume() const {
  if (withdrawn_) throw cancelled{};
}

bool queue_wait::poll(wait_node* node, bool cancel) noexcept {
  auto* self = reinterpret_cast<queue_wait*>(node);
  // acquire: pairs with the release in unlink_waiter_locked().
  if (self->state_.load(memory_order_acquire) == woken) return true;
  if (!cancel) return false;  // a stale wake
  {
    std::lock_guard lock(self->queue_->mutex_);
    if (self->state_.load(memory_order_relaxed) == woken) return true;
    self->queue_->take_waiter_locked();  // step 3
    self->state_.store(idle, memory_order_relaxed);
    self->withdrawn_ = true;
  }
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

}  // namespace brigade::detail
