#pragma once
// A worker's bounded run queue: one producer (the owning worker), many
// consumers (the owner pops, other workers steal half).
//
// Layout (Tokio's runtime/scheduler/multi_thread/queue.rs, in C++)
//   buffer_  capacity local_queue_capacity (a power of two, at most 2^15;
//            the model-check build shrinks it to 4), indexed by position &
//            mask. Positions are 16-bit and wrap; differences are taken
//            modulo 2^16 (dist()).
//   tail_    next position the owner writes. Only the owner stores it.
//   head_    one 64-bit word:
//              bits  0..15  real:    next position to pop or steal
//              bits 16..31  steal:   start of the range a stealer is
//                                    copying; equal to real when no steal
//                                    is in progress.
//              bits 32..63  version: bumped by take_back (below).
//            Slots in [steal, tail) belong to the queue; a stealer that has
//            claimed [steal, real) is still copying them out, so the owner
//            must not overwrite them: push treats the queue as full up to
//            steal, not real.
//
// Steal protocol (at most one stealer at a time per victim)
//   1. Load head; if steal != real another stealer is active: give up.
//   2. Load tail; claim half of [real, tail) by CAS-ing real forward
//      (steal stays).
//   3. Copy the claimed slots into the stealer's own queue.
//   4. CAS steal forward to meet real, releasing the slots to the owner.
//   Why two steps: the copy is not atomic, so the claimed range must stay
//   reserved until it is done; the owner may keep popping meanwhile.
//
// Taking back from the tail (take_back, a join running its child next)
//   The owner moves tail back one, then CASes head with the version bumped
//   (steal and real unchanged) if no stealer claimed the slot. A stealer
//   sizes its claim by a tail it read after head; between its loads and its
//   CAS the owner may take back any number of slots, so that claim may
//   reach them. The version makes such a CAS fail: the stealer reloads head,
//   and with it (the owner's CAS released the lower tail) the lower tail.
//   Found by TSan as a fork-join child run twice, and as a queue left with
//   its tail below its head (two take_backs against one stale claim); the
//   model test TwoTakeBacksRacingAStealer reproduces it.
//
// Overflow: when the owner finds the queue full (and no steal in progress)
// it moves half of it, plus the new task, to the inject queue in one batch.

#include "runtime/inject_queue.hpp"
#include "runtime/task_list.hpp"

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <cstdint>

namespace brigade::detail {

class local_queue {
 public:
  static constexpr std::uint32_t capacity = static_cast<std::uint32_t>(local_queue_capacity);
  static_assert((capacity & (capacity - 1)) == 0, "capacity must be a power of two");
  static_assert(capacity <= (1u << 15), "positions are 16-bit");

  /// Owner only. Pushes to the back; overflows half the queue to `inject`.
  void push_back(task_header* t, inject_queue& inject) noexcept {
    for (;;) {
      // acquire: pairs with stealers' release CAS, so their reads of the
      // slots we are about to overwrite are done.
      const std::uint64_t head = head_.load(memory_order_acquire);
      const pos steal = steal_of(head);
      const pos tail = tail_.load(memory_order_relaxed);  // we are the only writer
      if (dist(steal, tail) < capacity) {
        buffer_[tail & mask].store(t, memory_order_relaxed);
        // release: publishes the slot to pop/steal, which acquire tail_.
        tail_.store(static_cast<pos>(tail + 1), memory_order_release);
        return;
      }
      if (steal != real_of(head)) {
        // A stealer is freeing room right now; do not wait for it.
        inject.push(t);
        return;
      }
      if (push_overflow(t, head, tail, inject)) return;
      // A stealer claimed tasks between our load and CAS: there is room now.
    }
  }

  /// Owner only. Pops from the front.
  task_header* pop() noexcept {
    std::uint64_t head = head_.load(memory_order_acquire);
    pos idx = 0;
    for (;;) {
      const pos tail = tail_.load(memory_order_relaxed);
      if (real_of(head) == tail) return nullptr;
      // acq_rel: pairs with the stealers' CAS on head_.
      if (head_.compare_exchange_weak(head, advance_real(head), memory_order_acq_rel,
                                      memory_order_acquire)) {
        idx = real_of(head);
        break;
      }
    }
    return buffer_[idx & mask].load(memory_order_relaxed);
  }

  /// Owner only. Takes `t` back out of the queue if it is the task pushed
  /// last and no stealer has claimed it; true when the caller now owns it
  /// (it is no longer queued). Used by a join to run the child it waits for
  /// next instead of at the back of the queue (depth-first fork-join).
  /// Protocol: "Taking back from the tail" at the top of this file.
  bool take_back(task_header* t) noexcept {
    const pos tail = tail_.load(memory_order_relaxed);  // we are the only writer
    std::uint64_t head = head_.load(memory_order_acquire);
    if (real_of(head) == tail || buffer_[(tail - 1) & mask].load(memory_order_relaxed) != t) {
      return false;
    }
    // relaxed: released by the CAS below, with which a stealer's head load
    // synchronises before it loads tail.
    tail_.store(static_cast<pos>(tail - 1), memory_order_relaxed);
    for (;;) {
      if (real_of(head) == tail) {
        // A stealer claimed through the last slot: it copies it. The slot
        // was not overwritten, so restoring tail leaves the queue intact.
        tail_.store(tail, memory_order_release);
        return false;
      }
      // The slot is unclaimed: the version makes every claim sized by an
      // older tail fail. acq_rel: pairs with the stealers' CAS and loads.
      if (head_.compare_exchange_weak(head, head + version_one, memory_order_acq_rel,
                                      memory_order_acquire)) {
        return true;
      }
    }
  }

  /// Owner only. Takes `t` out of the queue if it is the next task pop()
  /// would return; true when the caller now owns it. Used by a join that
  /// waits for the oldest queued child (spawn N, then join them in order).
  /// Like pop(), the CAS on head_ settles the race with stealers: one that
  /// claimed the slot first moves real, and the CAS fails.
  bool take_front(task_header* t) noexcept {
    std::uint64_t head = head_.load(memory_order_acquire);
    for (;;) {
      const pos real = real_of(head);
      const pos tail = tail_.load(memory_order_relaxed);  // we are the only writer
      // Slots in [real, tail) are not rewritten while we run (we are their
      // only writer); a stealer copying them out only reads.
      if (real == tail || buffer_[real & mask].load(memory_order_relaxed) != t) return false;
      // acq_rel: pairs with the stealers' CAS on head_, as in pop().
      if (head_.compare_exchange_weak(head, advance_real(head), memory_order_acq_rel,
                                      memory_order_acquire)) {
        return true;
      }
    }
  }

  /// Any thread but the owner; `dst` must be the caller's own (owned) queue.
  /// Moves about half of this queue into `dst` and returns one of the moved
  /// tasks to run at once, or null when there was nothing to steal.
  task_header* steal_into(local_queue& dst) noexcept {
    const pos dst_tail = dst.tail_.load(memory_order_relaxed);  // dst owner is us
    const pos dst_steal = steal_of(dst.head_.load(memory_order_acquire));
    if (dist(dst_steal, dst_tail) > capacity / 2) return nullptr;  // no room for half a queue
    std::uint32_t n = steal_into_raw(dst, dst_tail);
    if (n == 0) return nullptr;
    --n;  // the last one copied is returned instead of queued
    const pos ret_pos = static_cast<pos>(dst_tail + n);
    task_header* ret = dst.buffer_[ret_pos & mask].load(memory_order_relaxed);
    if (n > 0) dst.tail_.store(ret_pos, memory_order_release);
    return ret;
  }

  /// Approximate number of queued tasks (metrics, idle checks). Any thread.
  std::uint32_t size() const noexcept {
    const std::uint64_t head = head_.load(memory_order_acquire);
    const pos tail = tail_.load(memory_order_acquire);
    // take_back may hold tail one below a stealer's real for a moment.
    const auto n = static_cast<std::int16_t>(dist(real_of(head), tail));
    return n > 0 ? static_cast<std::uint32_t>(n) : 0;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  using pos = std::uint16_t;
  static constexpr std::uint32_t mask = capacity - 1;
  static constexpr std::uint64_t version_one = std::uint64_t{1} << 32;

  /// Positions from `from` to `to`, modulo 2^16.
  static std::uint32_t dist(pos from, pos to) noexcept { return static_cast<pos>(to - from); }
  static pos real_of(std::uint64_t head) noexcept { return static_cast<pos>(head); }
  static pos steal_of(std::uint64_t head) noexcept { return static_cast<pos>(head >> 16); }
  /// `head` with steal and real replaced, its version kept.
  static std::uint64_t repack(std::uint64_t head, pos steal, pos real) noexcept {
    return (head & ~std::uint64_t{0xffffffff}) | (static_cast<std::uint64_t>(steal) << 16) | real;
  }
  /// `head` with real moved past the front slot (steal with it when no
  /// steal is in progress).
  static std::uint64_t advance_real(std::uint64_t head) noexcept {
    const pos real = real_of(head);
    const auto next_real = static_cast<pos>(real + 1);
    return repack(head, steal_of(head) == real ? next_real : steal_of(head), next_real);
  }

  /// `head`: the word push_back loaded (no steal in progress).
  bool push_overflow(task_header* t, std::uint64_t head, pos tail, inject_queue& inject) noexcept {
    constexpr std::uint32_t half = capacity / 2;
    const pos real = real_of(head);
    if (dist(real, tail) != capacity) return false;  // a stealer made room
    // Claim the first half, as a stealer would, so no stealer takes it.
    const auto after = static_cast<pos>(real + half);
    if (!head_.compare_exchange_strong(head, repack(head, after, after), memory_order_acq_rel,
                                       memory_order_relaxed)) {
      return false;
    }
    task_list batch;
    for (std::uint32_t i = 0; i < half; ++i) {
      batch.push_back(buffer_[(real + i) & mask].load(memory_order_relaxed));
    }
    batch.push_back(t);
    inject.push_batch(batch);
    return true;
  }

  std::uint32_t steal_into_raw(local_queue& dst, pos dst_tail) noexcept {
    std::uint64_t prev = head_.load(memory_order_acquire);
    std::uint64_t next = 0;
    std::uint32_t n = 0;
    for (;;) {
      const pos steal = steal_of(prev);
      const pos real = real_of(prev);
      if (steal != real) return 0;  // step 1: another stealer is active
      // acquire: pairs with the owner's release store of tail_ (the slots).
      const pos tail = tail_.load(memory_order_acquire);
      // take_back may hold tail one below real for a moment: nothing then.
      const auto queued = static_cast<std::int16_t>(dist(real, tail));
      if (queued <= 0) return 0;
      n = static_cast<std::uint32_t>(queued);
      n -= n / 2;
      next = repack(prev, steal, static_cast<pos>(real + n));
      // Step 2. Fails if the owner popped or took back meanwhile (the
      // version): then reload tail too. Pairs with the owner's CAS.
      if (head_.compare_exchange_weak(prev, next, memory_order_acq_rel, memory_order_acquire)) {
        break;
      }
    }
    // Step 3.
    const pos first = steal_of(next);
    for (std::uint32_t i = 0; i < n; ++i) {
      task_header* t = buffer_[(first + i) & mask].load(memory_order_relaxed);
      dst.buffer_[(dst_tail + i) & mask].store(t, memory_order_relaxed);
    }
    // Step 4: release the claimed slots to the owner.
    prev = next;
    for (;;) {
      const pos real = real_of(prev);
      if (head_.compare_exchange_weak(prev, repack(prev, real, real), memory_order_acq_rel,
                                      memory_order_acquire)) {
        return n;
      }
    }
  }

  atomic<std::uint64_t> head_{0};
  atomic<pos> tail_{0};
  // Atomic slots: a stealer may read a slot while the owner writes another
  // lap of the ring; relaxed accesses cost nothing on x86 and keep TSan exact.
  atomic<task_header*> buffer_[capacity] = {};
};

}  // namespace brigade::detail
