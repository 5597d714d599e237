// cancellation_state: see the protocol in detail/cancellation_state.hpp.

#include <brigade/detail/cancellation_state.hpp>

namespace brigade::detail {

cancellation_state* cancellation_state::create() { return new cancellation_state; }

cancellation_state* cancellation_state::create_linked(cancellation_state* parent) {
  auto* s = new cancellation_state;
  if (parent == nullptr) return s;
  s->link_.kind_ = cancel_node::kind::callback;
  s->link_.fire = &fire_child;
  s->link_.child = s;
  if (parent->try_register(&s->link_)) {
    parent->add_ref();  // dropped when the child unlinks itself (destructor)
    s->parent_ = parent;
  } else {
    s->request();  // the parent was already cancelled
  }
  return s;
}

cancellation_state::~cancellation_state() {
  // Unlink from the parent first: deregister() waits if the parent is
  // firing this link right now, so fire_child never sees a dead child.
  if (parent_ != nullptr) {
    parent_->deregister(&link_);
    parent_->release();
  }
}

void cancellation_state::release() noexcept {
  // acq_rel: the last owner sees every other owner's writes before deleting.
  if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
}

void cancellation_state::fire_child(cancel_node* node) noexcept {
  static_cast<parent_link*>(node)->child->request();
}

void cancellation_state::link(cancel_node* node) noexcept {
  node->prev_ = tail_;
  node->next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = node;
  } else {
    head_ = node;
  }
  tail_ = node;
  node->linked_ = true;
}

void cancellation_state::unlink(cancel_node* node) noexcept {
  if (node->prev_ != nullptr) {
    node->prev_->next_ = node->next_;
  } else {
    head_ = node->next_;
  }
  if (node->next_ != nullptr) {
    node->next_->prev_ = node->prev_;
  } else {
    tail_ = node->prev_;
  }
  node->prev_ = node->next_ = nullptr;
  node->linked_ = false;
}

bool cancellation_state::try_register(cancel_node* node) noexcept {
  std::lock_guard lock(mutex_);
  if (requested_.load(memory_order_relaxed)) return false;  // relaxed: under the lock
  link(node);
  return true;
}

bool cancellation_state::deregister(cancel_node* node) noexcept {
  std::unique_lock lock(mutex_);
  if (node->linked_) {
    unlink(node);
    return true;
  }
  if (running_ == node && running_thread_ != std::this_thread::get_id()) {
    callback_done_.wait(lock, [&] { return running_ != node; });
  }
  return false;
}

bool cancellation_state::request() noexcept {
  // Keeps this state alive while callbacks run: one of them may drop the
  // last source or token.
  add_ref();
  std::unique_lock lock(mutex_);
  if (requested_.load(memory_order_relaxed)) {
    lock.unlock();
    release();
    return false;
  }
  // release: pairs with the acquire in is_requested().
  requested_.store(true, memory_order_release);
  while (cancel_node* node = head_) {
    unlink(node);
    if (node->kind_ == cancel_node::kind::waiter) {
      auto* w = static_cast<cancel_waiter_node*>(node);
      task_header* task = w->task_;
      // release: pairs with the acquire in the awaiter's poll. From here on
      // the awaiter may be resumed and destroyed: do not touch it again.
      w->ready_.store(true, memory_order_release);
      lock.unlock();
      task->wake_by_val();  // consumes the waker's reference
      lock.lock();
      continue;
    }
    running_ = node;
    running_thread_ = std::this_thread::get_id();
    lock.unlock();
    node->fire(node);
    lock.lock();
    running_ = nullptr;
    callback_done_.notify_all();
  }
  lock.unlock();
  release();
  return true;
}

}  // namespace brigade::detail
