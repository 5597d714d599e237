// task_group_state: see the protocol in detail/task_group_state.hpp.

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/task_group_state.hpp>
#include <brigade/detail/wait_info.hpp>

#include <stdexcept>
#include <utility>

namespace brigade::detail {

namespace {

bool is_cancellation(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const cancelled&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

// ---- group_child ----

bool group_child::ended_cancelled() const noexcept {
  // acquire: pairs with the release in destroy_task (FRAME_GONE).
  if (task->state_.load(memory_order_acquire) & task_header::frame_gone) return true;
  return task->exception_ && is_cancellation(task->exception_);
}

bool group_child::failed() const noexcept {
  if (task->state_.load(memory_order_acquire) & task_header::frame_gone) return false;
  return task->exception_ && !is_cancellation(task->exception_);
}

// ---- task_group_state ----

task_group_state* task_group_state::create(on_error policy) { return new task_group_state(policy); }

void task_group_state::release() noexcept {
  // acq_rel: the last owner sees every other owner's writes before deleting.
  if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
}

void task_group_state::spawn(task_header* header, scheduler& sched, std::string_view name,
                             const source_location& location) noexcept {
  auto* c = new (std::nothrow) group_child;
  prepare_spawn(header, sched, name, location, join_kind::joined);
  if (c == nullptr) {
    // Out of memory for the record: the child never runs (as if aborted
    // before its first run) and its frame is freed with its references.
    header->abort();
    header->drop_join_interest(true);
    sched.spawn(header);
    return;
  }
  c->listener.on_complete = &on_child_complete;
  c->group = this;
  c->task = header;
  header->joiner_ = reinterpret_cast<std::uintptr_t>(&c->listener) | 1u;
  // relaxed: published to the worker that runs the child by the queue push.
  header->state_.fetch_or(task_header::join_waker, memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    c->prev = all_tail_;
    if (all_tail_ != nullptr) {
      all_tail_->next = c;
    } else {
      all_head_ = c;
    }
    all_tail_ = c;
    ++count_;
    ++live_;
    add_ref();  // the child's: dropped by its completion
    // A group failing under cancel_siblings, or whose waiter was aborted,
    // takes no new work: the child completes as cancelled without running.
    if (failing_ || (waiter_ != nullptr && waiter_->parent_cancelled_)) header->abort();
  }
  sched.spawn(header);
}

std::size_t task_group_state::size() const noexcept {
  std::lock_guard lock(mutex_);
  return count_;
}

std::size_t task_group_state::running() const noexcept {
  std::lock_guard lock(mutex_);
  return live_;
}

void task_group_state::abort_running_locked() noexcept {
  for (group_child* c = all_head_; c != nullptr; c = c->next) {
    if (!c->finished) c->task->abort();
  }
}

void task_group_state::abort_all() noexcept {
  std::lock_guard lock(mutex_);
  abort_running_locked();
}

void task_group_state::unlink_locked(group_child* c) noexcept {
  if (c->prev != nullptr) {
    c->prev->next = c->next;
  } else {
    all_head_ = c->next;
  }
  if (c->next != nullptr) {
    c->next->prev = c->prev;
  } else {
    all_tail_ = c->prev;
  }
  c->prev = c->next = nullptr;
  --count_;
}

std::size_t task_group_state::close() noexcept {
  group_child* done = nullptr;
  std::size_t running = 0;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (group_child* c = all_head_; c != nullptr;) {
      group_child* next = c->next;
      if (c->finished) {
        unlink_locked(c);
        c->next = done;
        done = c;
      } else {
        ++running;
        c->task->abort();
      }
      c = next;
    }
    finished_head_ = finished_tail_ = nullptr;
    first_failure_ = nullptr;
  }
  while (done != nullptr) {
    group_child* next = done->next;
    drop(done, false);
    done = next;
  }
  return running;
}

group_child* task_group_state::pop_finished() noexcept {
  std::lock_guard lock(mutex_);
  group_child* c = finished_head_;
  if (c == nullptr) return nullptr;
  finished_head_ = c->next_finished;
  if (finished_head_ == nullptr) finished_tail_ = nullptr;
  c->next_finished = nullptr;
  if (first_failure_ == c) first_failure_ = nullptr;
  unlink_locked(c);
  if (count_ == 0) failing_ = false;  // the group is empty: start afresh
  return c;
}

group_child* task_group_state::take_all(group_child*& first_failure) noexcept {
  std::lock_guard lock(mutex_);
  // Only finished children: one spawned by another task after the wait
  // ended stays in the group for the next join.
  group_child* head = nullptr;
  group_child* tail = nullptr;
  for (group_child* c = all_head_; c != nullptr;) {
    group_child* next = c->next;
    if (c->finished) {
      unlink_locked(c);
      c->next_finished = nullptr;
      if (tail != nullptr) {
        tail->next = c;
      } else {
        head = c;
      }
      tail = c;
    }
    c = next;
  }
  first_failure = std::exchange(first_failure_, nullptr);
  finished_head_ = finished_tail_ = nullptr;
  if (count_ == 0) failing_ = false;  // the group is empty: start afresh
  return head;
}

void task_group_state::drop(group_child* c, bool observed) noexcept {
  c->task->drop_join_interest(observed);
  delete c;
}

void task_group_state::on_child_complete(completion_listener* l, task_header* child) noexcept {
  auto* c = reinterpret_cast<group_child*>(l);
  task_group_state* g = c->group;
  task_header* wake = nullptr;
  bool orphan = false;
  {
    std::lock_guard lock(g->mutex_);
    --g->live_;
    c->finished = true;
    if (g->closed_) {
      // The group was dropped: nobody will take this result.
      g->unlink_locked(c);
      orphan = true;
    } else {
      if (g->finished_tail_ != nullptr) {
        g->finished_tail_->next_finished = c;
      } else {
        g->finished_head_ = c;
      }
      g->finished_tail_ = c;
      if (g->first_failure_ == nullptr && c->failed()) {
        g->first_failure_ = c;
        if (g->policy_ == on_error::cancel_siblings) {
          g->failing_ = true;
          g->abort_running_locked();
        }
      }
      if (wait_awaiter* w = g->waiter_; w != nullptr && g->satisfied_locked(w->want_)) {
        g->waiter_ = nullptr;
        w->registered_ = false;
        wake = w->task_;
        // release: pairs with the acquire in wait_awaiter::poll. The awaiter
        // may be resumed and destroyed from here on: do not touch it.
        w->ready_.store(true, memory_order_release);
      }
    }
  }
  (void)child;
  if (orphan) drop(c, false);
  if (wake != nullptr) wake->wake_by_val();
  g->release();  // this child's reference
}

// ---- wait_awaiter ----

task_group_state::wait_awaiter::~wait_awaiter() {
  if (task_ == nullptr) return;
  bool drop_ref = false;
  {
    std::lock_guard lock(group_.mutex_);
    if (registered_) {
      // Only when the waiting frame is destroyed while parked (runtime
      // shutdown): nobody will wake us, so the waker's reference is ours.
      group_.waiter_ = nullptr;
      registered_ = false;
      drop_ref = true;
    }
  }
  if (drop_ref) task_->release();
}

bool task_group_state::wait_awaiter::await_ready() {
  task_header* me = current_task();
  if (me == nullptr) throw std::logic_error("brigade::task_group joined outside a spawned task");
  std::lock_guard lock(group_.mutex_);
  if (group_.waiter_ != nullptr) {
    throw std::logic_error("brigade::task_group: two tasks join the same group at once");
  }
  if (me->is_cancelled() && !parent_cancelled_) {
    // Aborted before the wait: children go too, and we still wait for them.
    parent_cancelled_ = true;
    want_ = want::all;
    group_.abort_running_locked();
  }
  if (!group_.satisfied_locked(want_)) return false;
  if (consume_budget()) return true;
  yield_once_ = true;  // ready, but the turn's budget is spent: yield first
  return false;
}

bool task_group_state::wait_awaiter::await_suspend(std::coroutine_handle<> awaiting) {
  task_header* me = current_task();
  if (yield_once_) {
    me->resume_ = reinterpret_cast<std::uintptr_t>(awaiting.address());
    me->wake_by_ref();
    return true;
  }
  set_wait(me, wait_kind::task_group, this);
  node_.poll = &poll;
  node_.handle = awaiting;
  node_.owner = this;
  task_ = me;
  std::lock_guard lock(group_.mutex_);
  if (group_.satisfied_locked(want_)) return false;  // a child finished meanwhile
  me->resume_ = reinterpret_cast<std::uintptr_t>(static_cast<wait_node*>(&node_)) | 1u;
  me->add_ref();  // the waker's reference: consumed by the completion's wake
  group_.waiter_ = this;
  registered_ = true;
  return true;
}

bool task_group_state::wait_awaiter::poll(wait_node* node, bool cancel) noexcept {
  wait_awaiter* self = static_cast<owned_node*>(node)->owner;
  // acquire: pairs with the release in on_child_complete.
  if (self->ready_.load(memory_order_acquire)) return true;
  if (!cancel) return false;  // a stale wake
  task_group_state& g = self->group_;
  {
    std::lock_guard lock(g.mutex_);
    if (self->ready_.load(memory_order_relaxed)) return true;  // completion won
    if (!self->parent_cancelled_) {
      self->parent_cancelled_ = true;
      self->want_ = want::all;
      g.abort_running_locked();
    }
    if (g.live_ != 0) return false;  // the last child's completion wakes us
    g.waiter_ = nullptr;
    self->registered_ = false;
  }
  self->task_->release();  // withdrawn: no waker any more
  return true;
}

}  // namespace brigade::detail
