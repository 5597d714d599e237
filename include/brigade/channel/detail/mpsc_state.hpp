#pragma once
// The shared state of brigade::channel::mpsc / unbounded_mpsc; the protocol
// is described at the top of <brigade/channel/mpsc.hpp>.

#include <brigade/channel/detail/ring_buffer.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

namespace brigade {
namespace detail {

template <class T>
struct mpsc_send_waiter : sync_waiter {
  T* value_ = nullptr;  // moved into the buffer by the hand-over
  bool sent_ = false;   // outcome
};

template <class T>
struct mpsc_state {
  enum class push_outcome : std::uint8_t { sent, full, closed };
  enum class look : std::uint8_t { item, empty, ended };

  explicit mpsc_state(std::size_t capacity)
      : capacity_(capacity), buffer_(capacity == 0 ? ring_buffer<T>{} : ring_buffer<T>{capacity}) {}

  /// Under lock_.
  push_outcome try_push(T& value, wake_list& wakes) {
    if (closed_) return push_outcome::closed;
    if (capacity_ != 0 && (buffer_.full() || !send_waiters_.empty())) return push_outcome::full;
    if (buffer_.full()) buffer_.grow();  // unbounded; throws std::bad_alloc
    buffer_.push_back(std::move(value));
    if (sync_waiter* r = recv_waiters_.pop_front()) wakes.push(r);
    return push_outcome::sent;
  }

  /// Takes the lock; queues `w` (after `prepare`) when the channel is full.
  template <class Prepare>
  push_outcome send_or_link(mpsc_send_waiter<T>* w, Prepare&& prepare) {
    wake_list wakes;  // destroyed after `hold`: wakes after unlocking
    std::lock_guard hold(lock_);
    const push_outcome o = try_push(*w->value_, wakes);
    if (o == push_outcome::full) {
      prepare();
      send_waiters_.push_back(w);
    }
    return o;
  }

  /// Under lock_.
  look peek() const noexcept {
    if (!buffer_.empty()) return look::item;
    if (senders_ == 0 || closed_) return look::ended;
    return look::empty;
  }

  /// Under lock_, when peek() == item: pops, and hands the freed slot to
  /// the first queued sender.
  T pop(wake_list& wakes) noexcept {
    T v = buffer_.pop_front();
    if (sync_waiter* w = send_waiters_.pop_front()) {
      auto* sw = static_cast<mpsc_send_waiter<T>*>(w);
      buffer_.push_back(std::move(*sw->value_));
      sw->sent_ = true;
      wakes.push(w);
    }
    return v;
  }

  /// Under lock_: no more sends; queued senders learn it.
  void close(wake_list& wakes) noexcept {
    closed_ = true;
    while (sync_waiter* w = send_waiters_.pop_front()) wakes.push(w);
  }

  bool withdraw(waiter_list& list, sync_waiter* w) noexcept {
    std::lock_guard hold(lock_);
    if (!w->linked_) return false;
    list.remove(w);
    return true;
  }

  void add_ref() noexcept {
    // relaxed: a new reference is made from an existing one.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the last owner sees every other owner's writes before deleting.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

  spin_lock lock_;
  const std::size_t capacity_;  // 0: unbounded
  ring_buffer<T> buffer_;
  std::size_t senders_ = 1;
  bool closed_ = false;
  waiter_list send_waiters_;
  waiter_list recv_waiters_;
  atomic<std::size_t> refs_{2};
};

}  // namespace detail
}  // namespace brigade
