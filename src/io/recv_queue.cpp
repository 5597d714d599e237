// The multishot-recv queue of a stream (see recv_queue.hpp for the
// protocol).

#include "io/recv_queue.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

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
    if (res > 0 || !more) woken = q->unlink_waiter_locked();
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

bool recv_queue::has_news_locked() const noexcept {
  return !chunks_.empty() || end_ != 0 || !armed_;
}

}  // namespace brigade::detail
