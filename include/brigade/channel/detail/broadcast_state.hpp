#pragma once
// The shared state of brigade::channel::broadcast (see
// <brigade/channel/broadcast.hpp> for the protocol).

#include <brigade/sync/detail/waiter.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace brigade::detail {

template <class T>
struct broadcast_state {
  enum class look : std::uint8_t { value, lagged, empty, closed };

  explicit broadcast_state(std::size_t capacity)
      : capacity_(capacity), slots_(std::make_unique<std::optional<T>[]>(capacity)) {}

  /// Sequence number of the oldest value still retained. Under lock_.
  std::uint64_t oldest() const noexcept { return tail_ > capacity_ ? tail_ - capacity_ : 0; }

  /// What a receiver at `cursor` would get now. Under lock_.
  look peek(std::uint64_t cursor) const noexcept {
    if (cursor < oldest()) return look::lagged;
    if (cursor < tail_) return look::value;
    if (senders_ == 0) return look::closed;
    return look::empty;
  }
  /// The retained value at `cursor` (peek() == value). Under lock_.
  const T& at(std::uint64_t cursor) const noexcept {
    return *slots_[static_cast<std::size_t>(cursor % capacity_)];
  }
  /// Stores `value` as the newest, handing the value it overwrote to `old`
  /// (destroyed by the caller after unlocking). Under lock_.
  void push(T&& value, std::optional<T>& old, wake_list& wakes) noexcept {
    std::optional<T>& slot = slots_[static_cast<std::size_t>(tail_ % capacity_)];
    old = std::move(slot);
    slot.emplace(std::move(value));
    ++tail_;
    while (sync_waiter* w = waiters_.pop_front()) wakes.push(w);
  }

  bool withdraw(sync_waiter* w) noexcept {
    std::lock_guard hold(lock_);
    if (!w->linked_) return false;
    waiters_.remove(w);
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
  const std::size_t capacity_;
  std::unique_ptr<std::optional<T>[]> slots_;  // value of sequence s at s % capacity_
  std::uint64_t tail_ = 0;                     // sequence number of the next value
  std::size_t senders_ = 1;
  std::size_t receivers_ = 1;
  waiter_list waiters_;  // receivers waiting for tail_ to move (or the end)
  atomic<std::size_t> refs_{2};
};

}  // namespace brigade::detail
