#pragma once
// A worker's bounded run queue: one producer (the owning worker), many
// consumers (the owner pops, other workers steal half).
//
// Layout (Tokio's runtime/scheduler/multi_thread/queue.rs, in C++)
//   buffer_  capacity local_queue_capacity (a power of two; the model-check
//            build shrinks it to 4), indexed by position & mask.
//   tail_    next position the owner writes. Only the owner stores it.
//   head_    two 32-bit positions packed in one word:
//              bits  0..31  real:  next position to pop or steal
//              bits 32..63  steal: start of the range a stealer is copying;
//                           equal to real when no steal is in progress.
//            Slots in [steal, tail) belong to the queue; a stealer that has
//            claimed [steal, real) is still copying them out, so the owner
//            must not overwrite them: push treats the queue as full up to
//            steal, not real.
//
// Steal protocol (at most one stealer at a time per victim)
//   1. Load head; if steal != real another stealer is active: give up.
//   2. Claim half of [real, tail) by CAS-ing real forward (steal stays).
//   3. Copy the claimed slots into the stealer's own queue.
//   4. CAS steal forward to meet real, releasing the slots to the owner.
//   Why two steps: the copy is not atomic, so the claimed range must stay
//   reserved until it is done; the owner may keep popping meanwhile.
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

  /// Owner only. Pushes to the back; overflows half the queue to `inject`.
  void push_back(task_header* t, inject_queue& inject) noexcept {
    for (;;) {
      // acquire: pairs with stealers' release CAS, so their reads of the
      // slots we are about to overwrite are done.
      const std::uint64_t head = head_.load(memory_order_acquire);
      const std::uint32_t steal = unpack_steal(head);
      const std::uint32_t real = unpack_real(head);
      const std::uint32_t tail = tail_.load(memory_order_relaxed);  // we are the only writer
      if (tail - steal < capacity) {
        buffer_[tail & mask].store(t, memory_order_relaxed);
        // release: publishes the slot to pop/steal, which acquire tail_.
        tail_.store(tail + 1, memory_order_release);
        return;
      }
      if (steal != real) {
        // A stealer is freeing room right now; do not wait for it.
        inject.push(t);
        return;
      }
      if (push_overflow(t, real, tail, inject)) return;
      // A stealer claimed tasks between our load and CAS: there is room now.
    }
  }

  /// Owner only. Pops from the front.
  task_header* pop() noexcept {
    std::uint64_t head = head_.load(memory_order_acquire);
    std::uint32_t idx = 0;
    for (;;) {
      const std::uint32_t steal = unpack_steal(head);
      const std::uint32_t real = unpack_real(head);
      const std::uint32_t tail = tail_.load(memory_order_relaxed);
      if (real == tail) return nullptr;
      const std::uint32_t next_real = real + 1;
      const std::uint64_t next =
          steal == real ? pack(next_real, next_real) : pack(steal, next_real);
      // acq_rel: pairs with the stealers' CAS on head_.
      if (head_.compare_exchange_weak(head, next, memory_order_acq_rel, memory_order_acquire)) {
        idx = real;
        break;
      }
    }
    return buffer_[idx & mask].load(memory_order_relaxed);
  }

  /// Owner only. Takes `t` back out of the queue if it is the task pushed
  /// last and no stealer has claimed it; true when the caller now owns it
  /// (it is no longer queued). Used by a join to run the child it waits for
  /// next instead of at the back of the queue (depth-first fork-join).
  ///
  /// Protocol (Chase-Lev's pop, adapted to steal-half): move tail back one
  /// (seq_cst), then read head (seq_cst). A stealer claims at most
  /// ceil((tail - real) / 2) slots from real on; with at least two slots
  /// left between the real we see and the old tail, no claim made against
  /// either tail value can reach the last slot, so it is ours. With one slot
  /// left the front and the back are the same slot: take it with pop()'s
  /// CAS, which settles the race with stealers. Otherwise put tail back.
  bool take_back(task_header* t) noexcept {
    const std::uint32_t tail = tail_.load(memory_order_relaxed);  // we are the only writer
    std::uint32_t real = unpack_real(head_.load(memory_order_seq_cst));
    if (tail == real || buffer_[(tail - 1) & mask].load(memory_order_relaxed) != t) return false;
    if (tail - real == 1) return pop() == t;  // only stealers race us, and they only remove
    tail_.store(tail - 1, memory_order_seq_cst);
    real = unpack_real(head_.load(memory_order_seq_cst));
    if (static_cast<std::int32_t>(tail - real) >= 2) return true;
    // A stealer claimed up to (maybe through) the last slot meanwhile: the
    // slot was not overwritten, so restoring tail hands it over intact.
    tail_.store(tail, memory_order_release);
    return false;
  }

  /// Owner only. Takes `t` out of the queue if it is the next task pop()
  /// would return; true when the caller now owns it. Used by a join that
  /// waits for the oldest queued child (spawn N, then join them in order).
  /// Like pop(), the CAS on head_ settles the race with stealers: one that
  /// claimed the slot first moves real, and the CAS fails.
  bool take_front(task_header* t) noexcept {
    std::uint64_t head = head_.load(memory_order_acquire);
    for (;;) {
      const std::uint32_t steal = unpack_steal(head);
      const std::uint32_t real = unpack_real(head);
      const std::uint32_t tail = tail_.load(memory_order_relaxed);  // we are the only writer
      // Slots in [real, tail) are not rewritten while we run (we are their
      // only writer); a stealer copying them out only reads.
      if (real == tail || buffer_[real & mask].load(memory_order_relaxed) != t) return false;
      const std::uint32_t next_real = real + 1;
      const std::uint64_t next =
          steal == real ? pack(next_real, next_real) : pack(steal, next_real);
      // acq_rel: pairs with the stealers' CAS on head_, as in pop().
      if (head_.compare_exchange_weak(head, next, memory_order_acq_rel, memory_order_acquire)) {
        return true;
      }
    }
  }

  /// Any thread but the owner; `dst` must be the caller's own (owned) queue.
  /// Moves about half of this queue into `dst` and returns one of the moved
  /// tasks to run at once, or null when there was nothing to steal.
  task_header* steal_into(local_queue& dst) noexcept {
    const std::uint32_t dst_tail = dst.tail_.load(memory_order_relaxed);  // dst owner is us
    const std::uint32_t dst_steal = unpack_steal(dst.head_.load(memory_order_acquire));
    if (dst_tail - dst_steal > capacity / 2) return nullptr;  // no room for half a queue
    std::uint32_t n = steal_into_raw(dst, dst_tail);
    if (n == 0) return nullptr;
    --n;  // the last one copied is returned instead of queued
    const std::uint32_t ret_pos = dst_tail + n;
    task_header* ret = dst.buffer_[ret_pos & mask].load(memory_order_relaxed);
    if (n > 0) dst.tail_.store(dst_tail + n, memory_order_release);
    return ret;
  }

  /// Approximate number of queued tasks (metrics, idle checks). Any thread.
  std::uint32_t size() const noexcept {
    const std::uint64_t head = head_.load(memory_order_acquire);
    const std::uint32_t tail = tail_.load(memory_order_acquire);
    // take_back may hold tail one below a stealer's real for a moment.
    const auto n = static_cast<std::int32_t>(tail - unpack_real(head));
    return n > 0 ? static_cast<std::uint32_t>(n) : 0;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  static constexpr std::uint32_t mask = capacity - 1;

  static std::uint32_t unpack_real(std::uint64_t v) noexcept {
    return static_cast<std::uint32_t>(v);
  }
  static std::uint32_t unpack_steal(std::uint64_t v) noexcept {
    return static_cast<std::uint32_t>(v >> 32);
  }
  static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
    return (static_cast<std::uint64_t>(steal) << 32) | real;
  }

  bool push_overflow(task_header* t, std::uint32_t head, std::uint32_t tail,
                     inject_queue& inject) noexcept {
    constexpr std::uint32_t half = capacity / 2;
    if (tail - head != capacity) return false;  // a stealer made room
    std::uint64_t expected = pack(head, head);
    // Claim the first half, as a stealer would, so no stealer takes it.
    if (!head_.compare_exchange_strong(expected, pack(head + half, head + half),
                                       memory_order_acq_rel, memory_order_relaxed)) {
      return false;
    }
    task_list batch;
    for (std::uint32_t i = 0; i < half; ++i) {
      batch.push_back(buffer_[(head + i) & mask].load(memory_order_relaxed));
    }
    batch.push_back(t);
    inject.push_batch(batch);
    return true;
  }

  std::uint32_t steal_into_raw(local_queue& dst, std::uint32_t dst_tail) noexcept {
    // seq_cst loads and CAS: take_back's argument needs the stealer's head
    // load, tail load and claim in one total order with the owner's tail
    // store and head load (free on x86: plain loads and lock cmpxchg).
    std::uint64_t prev = head_.load(memory_order_seq_cst);
    std::uint64_t next = 0;
    std::uint32_t n = 0;
    for (;;) {
      const std::uint32_t steal = unpack_steal(prev);
      const std::uint32_t real = unpack_real(prev);
      // Pairs with the owner's release store of tail_ (the slots).
      const std::uint32_t tail = tail_.load(memory_order_seq_cst);
      if (steal != real) return 0;  // step 1: another stealer is active
      // take_back may hold tail one below real for a moment: nothing then.
      if (static_cast<std::int32_t>(tail - real) <= 0) return 0;
      n = tail - real;
      n -= n / 2;
      next = pack(steal, real + n);
      // Step 2. Pairs with the owner's pop/push and other stealers.
      if (head_.compare_exchange_weak(prev, next, memory_order_seq_cst, memory_order_seq_cst))
        break;
    }
    // Step 3.
    const std::uint32_t first = unpack_steal(next);
    for (std::uint32_t i = 0; i < n; ++i) {
      task_header* t = buffer_[(first + i) & mask].load(memory_order_relaxed);
      dst.buffer_[(dst_tail + i) & mask].store(t, memory_order_relaxed);
    }
    // Step 4: release the claimed slots to the owner.
    prev = next;
    for (;;) {
      const std::uint32_t real = unpack_real(prev);
      if (head_.compare_exchange_weak(prev, pack(real, real), memory_order_acq_rel,
                                      memory_order_acquire)) {
        return n;
      }
    }
  }

  atomic<std::uint64_t> head_{0};
  atomic<std::uint32_t> tail_{0};
  // Atomic slots: a stealer may read a slot while the owner writes another
  // lap of the ring; relaxed accesses cost nothing on x86 and keep TSan exact.
  atomic<task_header*> buffer_[capacity] = {};
};

}  // namespace brigade::detail
