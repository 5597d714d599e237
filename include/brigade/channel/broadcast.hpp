#pragma once
// brigade::channel::broadcast<T>(capacity): every receiver sees every value.
//
// Moving parts (one heap block, broadcast_state<T>, guarded by lock_)
//   slots_    a ring of the last `capacity` values; value number s (counted
//             from 0 since the channel was made) lives in slot s % capacity
//   tail_     the number of the next value to send
//   waiters_  receivers waiting for tail_ to move (or for the end)
// Each receiver keeps its own cursor: the number of the next value it will
// read. Sending never waits: it overwrites the oldest slot. A receiver whose
// cursor fell behind the oldest retained value learns how many it missed
// (`lagged`), jumps to the oldest retained one, and goes on from there.
// Receivers copy values out (T must be copyable); a send wakes every waiting
// receiver, each of which looks again when it resumes: waiting takes
// nothing, so an aborted recv loses nothing (its cursor does not move).
// The end: once every sender is gone, a receiver reads what is retained
// beyond its cursor, then gets `closed`.

#include <brigade/cancelled.hpp>
#include <brigade/channel/closed_error.hpp>
#include <brigade/channel/detail/broadcast_state.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace brigade::channel {

/// What a broadcast receive yields: a value, a lag report, the end, or
/// (try_recv only) nothing yet.
template <class T>
class broadcast_result {
 public:
  enum class status : std::uint8_t {
    value,   ///< value() holds the next value
    lagged,  ///< missed() values were overwritten before this receiver read them
    empty,   ///< try_recv only: nothing new yet
    closed,  ///< every sender is gone and everything retained was read
  };

  status state() const noexcept { return status_; }
  bool has_value() const noexcept { return status_ == status::value; }
  explicit operator bool() const noexcept { return has_value(); }
  bool is_lagged() const noexcept { return status_ == status::lagged; }
  bool is_closed() const noexcept { return status_ == status::closed; }
  bool is_empty() const noexcept { return status_ == status::empty; }
  /// The value. Requires has_value().
  T& value() & noexcept { return *value_; }
  const T& value() const& noexcept { return *value_; }
  T&& value() && noexcept { return std::move(*value_); }
  T& operator*() & noexcept { return *value_; }
  const T& operator*() const& noexcept { return *value_; }
  T&& operator*() && noexcept { return std::move(*value_); }
  /// How many values were missed (is_lagged()), else 0.
  std::uint64_t missed() const noexcept { return missed_; }

  static broadcast_result of_value(T v) { return broadcast_result{status::value, std::move(v), 0}; }
  static broadcast_result of_lag(std::uint64_t n) {
    return broadcast_result{status::lagged, {}, n};
  }
  static broadcast_result of(status s) { return broadcast_result{s, {}, 0}; }

 private:
  broadcast_result(status s, std::optional<T> v, std::uint64_t missed)
      : status_(s), value_(std::move(v)), missed_(missed) {}

  status status_;
  std::optional<T> value_;
  std::uint64_t missed_;
};

template <class T>
class broadcast_sender;
template <class T>
class broadcast_receiver;

/// A broadcast channel keeping the last `capacity` (>= 1) values:
/// `auto [tx, rx] = channel::broadcast<T>(16);` More receivers come from
/// `tx.subscribe()`.
/// Throws: std::invalid_argument when capacity is 0.
template <class T>
endpoints<broadcast_sender<T>, broadcast_receiver<T>> broadcast(std::size_t capacity);

/// A sending end of a broadcast channel. Copyable (every copy is a sender).
/// Thread safety: distinct sender objects may be used concurrently from any
/// threads and tasks; one object is not for concurrent use.
template <class T>
class broadcast_sender {
 public:
  broadcast_sender() noexcept = default;
  /// For brigade internals (the factory): adopts one reference.
  explicit broadcast_sender(detail::broadcast_state<T>* s) noexcept : state_(s) {}
  broadcast_sender(const broadcast_sender& other) noexcept : state_(other.state_) {
    if (state_ == nullptr) return;
    {
      std::lock_guard hold(state_->lock_);
      ++state_->senders_;
    }
    state_->add_ref();
  }
  broadcast_sender(broadcast_sender&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  broadcast_sender& operator=(broadcast_sender other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~broadcast_sender() {
    detail::broadcast_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    {
      detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
      std::lock_guard hold(s->lock_);
      // The last sender: waiting receivers learn the end.
      if (--s->senders_ == 0) {
        while (detail::sync_waiter* w = s->waiters_.pop_front()) wakes.push(w);
      }
    }
    s->release();
  }

  /// Sends `value` to every current receiver; never waits (a full ring
  /// overwrites its oldest value: lagging receivers learn it).
  /// Returns false, leaving `value` untouched, when there is no receiver.
  /// Throws: std::logic_error on an empty sender.
  bool send(T&& value) {
    detail::broadcast_state<T>* s = checked();
    std::optional<T> overwritten;  // destroyed last: after unlocking
    detail::wake_list wakes;
    std::lock_guard hold(s->lock_);
    if (s->receivers_ == 0) return false;
    s->push(std::move(value), overwritten, wakes);
    return true;
  }
  bool send(const T& value) {
    T copy(value);
    return send(std::move(copy));
  }

  /// A new receiver that sees the values sent from now on.
  /// Throws: std::logic_error on an empty sender.
  broadcast_receiver<T> subscribe() {
    detail::broadcast_state<T>* s = checked();
    std::uint64_t cursor = 0;
    {
      std::lock_guard hold(s->lock_);
      ++s->receivers_;
      cursor = s->tail_;
    }
    s->add_ref();
    return broadcast_receiver<T>{s, cursor};
  }

  /// A snapshot of the number of receivers.
  std::size_t receiver_count() const noexcept {
    if (state_ == nullptr) return 0;
    std::lock_guard hold(state_->lock_);
    return state_->receivers_;
  }
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  detail::broadcast_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::broadcast_sender is empty");
    return state_;
  }

  detail::broadcast_state<T>* state_ = nullptr;
};

/// A receiving end of a broadcast channel. Move-only (more receivers come
/// from broadcast_sender::subscribe()).
/// Thread safety: one receive at a time per receiver; distinct receivers
/// may be used concurrently.
template <class T>
class broadcast_receiver {
 public:
  class recv_awaiter;

  broadcast_receiver() noexcept = default;
  /// For brigade internals: adopts one reference; reads from `cursor` on.
  broadcast_receiver(detail::broadcast_state<T>* s, std::uint64_t cursor) noexcept
      : state_(s), cursor_(cursor) {}
  broadcast_receiver(broadcast_receiver&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), cursor_(other.cursor_) {}
  broadcast_receiver& operator=(broadcast_receiver&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
      cursor_ = other.cursor_;
    }
    return *this;
  }
  broadcast_receiver(const broadcast_receiver&) = delete;
  broadcast_receiver& operator=(const broadcast_receiver&) = delete;
  ~broadcast_receiver() { drop(); }

  /// `auto r = co_await rx.recv();`: the next value (a copy), a lag report
  /// (then the next recv continues from the oldest retained value), or
  /// closed once every sender is gone and nothing unread is retained.
  ///
  /// Resumes on: the worker that runs the task after a send; at once, on
  /// the same thread, when something is there.
  /// Cancellation: total. An aborted recv throws brigade::cancelled and
  /// reads nothing (the cursor does not move).
  /// Throws: brigade::cancelled; T's copy constructor's exceptions (the
  /// cursor then stays); std::logic_error on an empty receiver or outside a
  /// spawned task.
  [[nodiscard]] recv_awaiter recv() { return recv_awaiter{*this}; }

  /// As recv(), without waiting: status::empty when nothing is new.
  broadcast_result<T> try_recv() {
    detail::broadcast_state<T>* s = checked();
    std::lock_guard hold(s->lock_);
    return take_locked(s);
  }

  /// As recv(), blocking the calling plain thread.
  /// Throws: std::logic_error on a thread that drives a runtime.
  broadcast_result<T> blocking_recv() {
    detail::check_blocking_allowed("brigade::channel::broadcast_receiver::blocking_recv");
    detail::broadcast_state<T>* s = checked();
    detail::sync_waiter w;
    bool queued = false;
    {
      std::lock_guard hold(s->lock_);
      if (s->peek(cursor_) == detail::broadcast_state<T>::look::empty) {
        s->waiters_.push_back(&w);
        queued = true;
      }
    }
    if (queued) w.wait_as_thread();
    return try_recv();  // woken by a send or by the end: not empty
  }

  bool valid() const noexcept { return state_ != nullptr; }

 private:
  detail::broadcast_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::broadcast_receiver is empty");
    return state_;
  }
  /// Under the lock: reads at the cursor and moves it.
  broadcast_result<T> take_locked(detail::broadcast_state<T>* s) {
    using look = typename detail::broadcast_state<T>::look;
    using result = broadcast_result<T>;
    switch (s->peek(cursor_)) {
      case look::lagged: {
        const std::uint64_t oldest = s->oldest();
        const std::uint64_t missed = oldest - cursor_;
        cursor_ = oldest;
        return result::of_lag(missed);
      }
      case look::value: {
        result r = result::of_value(s->at(cursor_));  // copy first: a throw moves nothing
        ++cursor_;
        return r;
      }
      case look::closed:
        return result::of(result::status::closed);
      case look::empty:
        break;
    }
    return result::of(result::status::empty);
  }
  void drop() noexcept {
    detail::broadcast_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    {
      std::lock_guard hold(s->lock_);
      --s->receivers_;
    }
    s->release();
  }

  detail::broadcast_state<T>* state_ = nullptr;
  std::uint64_t cursor_ = 0;  // the next value to read; owned by this receiver
};

/// The awaitable of broadcast_receiver::recv() (see there).
template <class T>
class broadcast_receiver<T>::recv_awaiter : private detail::sync_waiter {
 public:
  explicit recv_awaiter(broadcast_receiver& rx) : rx_(rx), state_(rx.checked()) {}
  recv_awaiter(const recv_awaiter&) = delete;
  recv_awaiter& operator=(const recv_awaiter&) = delete;
  ~recv_awaiter() {
    if (phase_ != phase::queued) return;
    // Only when the waiting frame is destroyed (runtime shutdown).
    if (state_->withdraw(this)) {
      task_->release();  // no waker any more: its reference is ours
    } else {
      wait_until_ready();  // being woken right now; nothing was read
    }
  }

  bool await_ready() {
    detail::task_header* me =
        detail::current_task_or_throw("brigade::channel::broadcast_receiver::recv");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    if (!detail::consume_budget()) phase_ = phase::budget_spent;
    return false;
  }

  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    {
      std::lock_guard hold(state_->lock_);
      if (state_->peek(rx_.cursor_) == detail::broadcast_state<T>::look::empty) {
        prepare_task(me, awaiting, &poll, detail::wait_kind::broadcast, state_);
        state_->waiters_.push_back(this);
        phase_ = phase::queued;
        return true;
      }
    }
    if (phase_ == phase::budget_spent) {
      // Something is there (it cannot go away for this receiver: tail_ only
      // grows), but the budget is spent: yield once, then read.
      detail::yield_completed(me, awaiting);
      return true;
    }
    return false;
  }

  broadcast_result<T> await_resume() {
    if (phase_ == phase::withdrawn || detail::current_task()->is_cancelled()) {
      throw cancelled{};  // nothing was read
    }
    std::lock_guard hold(state_->lock_);
    return rx_.take_locked(state_);
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, queued, withdrawn, woken };

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    auto* self = static_cast<recv_awaiter*>(static_cast<detail::sync_waiter*>(node));
    if (self->is_ready()) {
      self->phase_ = cancel ? phase::withdrawn : phase::woken;  // nothing read yet
      return true;
    }
    if (!cancel) return false;                        // a stale wake
    if (!self->state_->withdraw(self)) return false;  // firing: its wake re-polls us
    self->phase_ = phase::withdrawn;
    self->task_->release();  // the waker's reference: no waker any more
    return true;
  }

  broadcast_receiver& rx_;
  detail::broadcast_state<T>* state_;
  phase phase_ = phase::idle;
};

template <class T>
endpoints<broadcast_sender<T>, broadcast_receiver<T>> broadcast(std::size_t capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("brigade::channel::broadcast: capacity must be at least 1");
  }
  auto* s = new detail::broadcast_state<T>(capacity);
  return {broadcast_sender<T>{s}, broadcast_receiver<T>{s, 0}};
}

}  // namespace brigade::channel
