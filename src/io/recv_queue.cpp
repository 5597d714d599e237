// The multishot-recv queue of a stream (see recv_queue.hpp for the
// protocol).

#include "io/recv_queue.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/wait_info.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace brigade::detail {

// Backends without a buffer ring never arm one (callers check
// supports_multishot_recv first).
bool reactor::submit_recv(recv_queue&) noexcept { std::abort(); }
void reactor::cancel_recv(recv_queue&) noexcept {}
void reactor::recycle(const std::uint16_t*, std::size_t) noexcept {}

recv_queue::taken recv_queue::take(std::byte* dst, std::size_t size) noexcept {
  // Emptied buffers go back to the ring after unlocking, at most `batch` per
  // call (the caller comes back for the rest).
  constexpr std::size_t batch = 32;
  std::uint16_t emptied[batch];
  std::size_t n_emptied = 0;
  taken t;
  {
    std::lock_guard lock(mutex_);
    if (size == 0 && !chunks_.empty()) {
      t.what = outcome::data;  // a read of nothing returns at once, as read(2) does
      return t;
    }
    while (!chunks_.empty() && t.bytes < size && n_emptied < batch) {
      chunk& c = chunks_.front();
      const std::size_t n = std::min<std::size_t>(c.size - c.offset, size - t.bytes);
      std::memcpy(dst + t.bytes, c.data + c.offset, n);
      t.bytes += n;
      c.offset += static_cast<std::uint32_t>(n);
      if (c.offset == c.size) {
        emptied[n_emptied++] = c.bid;
        chunks_.pop_front();
      }
    }
    if (t.bytes > 0) {
      t.what = outcome::data;
    } else if (end_ != 0) {
      // Reported once, as the kernel reports a FIN or an error once: the
      // next read goes to the socket, which says the same again or 0.
      t.what = end_ > 0 ? outcome::end : outcome::error;
      t.error = end_ > 0 ? 0 : -end_;
      end_ = 0;
    } else {
      t.what = armed_ ? outcome::wait : outcome::idle;
    }
  }
  if (n_emptied > 0) core_->recycle(emptied, n_emptied);
  return t;
}

bool recv_queue::arm() noexcept {
  std::lock_guard lock(mutex_);
  if (armed_) return true;
  if (owner_gone_ || refused_) return false;
  if (no_buffers_) {
    no_buffers_ = false;  // step 2: this wait is a one-shot recv, the next one re-arms
    return false;
  }
  armed_ = true;
  cancel_sent_ = false;
  if (!core_->submit_recv(*this)) {
    armed_ = false;  // the ring is gone: the one-shot recv reports it
    return false;
  }
  return true;
}

void recv_queue::deliver(recv_queue* q, int res, bool more, std::byte* data,
                         std::uint16_t bid) noexcept {
  task_header* woken = nullptr;
  bool free_now = false;
  {
    std::lock_guard lock(q->mutex_);
    if (res > 0 && data != nullptr && !q->owner_gone_) {
      q->chunks_.push_back(chunk{data, static_cast<std::uint32_t>(res), 0, bid});
      if (more && !q->cancel_sent_ && q->chunks_.size() >= capacity) {
        q->cancel_sent_ = true;  // step 3: enough queued
        q->core_->cancel_recv(*q);
      }
    } else if (data != nullptr) {
      // Nobody reads it (or it carries no bytes). Under the lock: once it
      // is released, release() may free the queue.
      q->core_->recycle(&bid, 1);
    }
    if (!more) {
      q->armed_ = false;
      if (res == 0) {
        q->end_ = 1;
      } else if (res == -ENOBUFS) {
        q->no_buffers_ = true;
      } else if (res == -EINVAL) {
        q->refused_ = true;
      } else if (res < 0 && res != -ECANCELED) {
        q->end_ = res;  // ECONNRESET & co: after the data
      }
    }
    if (recv_wait* w = q->waiter_; w != nullptr && (res > 0 || !more)) {
      q->waiter_ = nullptr;
      q->core_->waiting_.fetch_sub(1, memory_order_relaxed);
      woken = w->task_;
      // release: pairs with the acquire in recv_wait::poll(). The awaiter
      // may be resumed and destroyed from here on.
      w->state_.store(recv_wait::woken, memory_order_release);
    }
    free_now = !more && q->owner_gone_;
  }
  if (woken != nullptr) woken->wake_by_val();
  if (free_now) delete q;
}

void recv_queue::release(recv_queue* q) noexcept {
  bool free_now = false;
  {
    std::lock_guard lock(q->mutex_);
    q->owner_gone_ = true;
    for (const chunk& c : q->chunks_) q->core_->recycle(&c.bid, 1);
    q->chunks_.clear();
    if (q->armed_) {
      if (!q->cancel_sent_) q->core_->cancel_recv(*q);
      q->cancel_sent_ = true;
    } else {
      free_now = true;
    }
  }
  if (free_now) delete q;
}

// ---- recv_wait ----

recv_wait::~recv_wait() {
  // relaxed: only this thread links; a woken/withdrawn awaiter needs nothing.
  if (state_.load(memory_order_relaxed) != linked) return;
  bool drop = false;
  {
    std::lock_guard lock(queue_->mutex_);
    if (queue_->waiter_ == this) {  // the waiting frame dies while parked (shutdown)
      queue_->waiter_ = nullptr;
      queue_->core_->waiting_.fetch_sub(1, memory_order_relaxed);
      drop = true;
    }
  }
  if (drop) task_->release();
}

bool recv_wait::await_suspend(std::coroutine_handle<> awaiting) {
  task_header* me = current_task();
  if (me == nullptr) throw std::logic_error("brigade I/O awaited outside a spawned task");
  if (me->is_cancelled()) {
    withdrawn_ = true;
    return false;
  }
  std::lock_guard lock(queue_->mutex_);
  if (!queue_->chunks_.empty() || queue_->end_ != 0 || !queue_->armed_) return false;
  set_wait(me, wait_kind::read_fd, static_cast<std::uint64_t>(static_cast<unsigned>(queue_->fd_)));
  node_.poll = &recv_wait::poll;
  node_.handle = awaiting;
  task_ = me;
  me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
  me->add_ref();  // the waker's reference: consumed by deliver() or a withdrawal
  // relaxed: read by this task's own poll and destructor, or under the lock.
  state_.store(linked, memory_order_relaxed);
  queue_->waiter_ = this;
  queue_->core_->waiting_.fetch_add(1, memory_order_relaxed);
  return true;
}

void recv_wait::await_resume() const {
  if (withdrawn_) throw cancelled{};
}

bool recv_wait::poll(wait_node* node, bool cancel) noexcept {
  auto* self = reinterpret_cast<recv_wait*>(node);
  // acquire: pairs with the release in deliver().
  if (self->state_.load(memory_order_acquire) == woken) return true;
  if (!cancel) return false;  // a stale wake
  recv_queue& q = *self->queue_;
  {
    std::lock_guard lock(q.mutex_);
    if (self->state_.load(memory_order_relaxed) == woken) return true;
    q.waiter_ = nullptr;
    q.core_->waiting_.fetch_sub(1, memory_order_relaxed);
    self->state_.store(idle, memory_order_relaxed);
    self->withdrawn_ = true;
  }
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

}  // namespace brigade::detail
