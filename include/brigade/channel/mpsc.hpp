#pragma once
// brigade::channel::mpsc<T>(capacity) and unbounded_mpsc<T>(): many senders,
// one receiver, FIFO.
//
// Moving parts (one heap block, mpsc_state<T>, guarded by lock_)
//   buffer_        the messages, a ring (bounded: exactly `capacity` slots;
//                  unbounded: grows by doubling)
//   send_waiters_  senders blocked on a full bounded channel, FIFO. Each
//                  waiter points at the value it wants to send (the caller's
//                  object, or the awaiter's own copy for an lvalue send).
//   recv_waiters_  the receiver, when it waits (at most one)
//   senders_       live mpsc_sender objects; 0 means no value can come
//   closed_        the receiver closed the channel or is gone: sends fail
//   refs_          owners of the block (every sender object + the receiver)
//
// Protocols (detail/waiter.hpp: unlink under the lock, wake after it)
//   send    buffer not full and nobody queued: push, wake the receiver.
//           Full: queue the sender. Invariant: send_waiters_ is non-empty
//           only while the buffer is full, so FIFO order among senders holds.
//   recv    pop the head; if a sender is queued, move its value into the
//           freed slot *for it* (hand-over: it never races a later sender),
//           mark it sent and wake it. The receiver itself waits only for
//           "an item or the end", and takes the item when it resumes, so an
//           aborted recv takes nothing (no message lost).
//   end     the receiver sees std::nullopt once the buffer is empty and
//           either every sender is gone or the channel was closed.
//   close   (receiver close() or drop) wakes every queued sender with "not
//           sent": its value stays with the caller, send returns false.

#include <brigade/channel/closed_error.hpp>
#include <brigade/channel/mpsc_receiver.hpp>
#include <brigade/channel/mpsc_sender.hpp>

#include <cstddef>
#include <stdexcept>

namespace brigade::channel {

/// A bounded multi-producer, single-consumer channel of `capacity` (>= 1)
/// messages: senders wait (backpressure) while it is full.
/// `auto [tx, rx] = channel::mpsc<T>(64);` Allocates the channel's state and
/// its buffer once, here; sending, receiving and waiting allocate nothing.
/// Throws: std::invalid_argument when capacity is 0.
template <class T>
endpoints<mpsc_sender<T>, mpsc_receiver<T>> mpsc(std::size_t capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("brigade::channel::mpsc: capacity must be at least 1");
  }
  auto* s = new detail::mpsc_state<T>(capacity);
  return {mpsc_sender<T>{s}, mpsc_receiver<T>{s}};
}

/// An unbounded multi-producer, single-consumer channel: sends never wait
/// (memory is the limit; the buffer doubles when full). Same sender and
/// receiver types as mpsc().
template <class T>
endpoints<mpsc_sender<T>, mpsc_receiver<T>> unbounded_mpsc() {
  auto* s = new detail::mpsc_state<T>(0);
  return {mpsc_sender<T>{s}, mpsc_receiver<T>{s}};
}

}  // namespace brigade::channel
