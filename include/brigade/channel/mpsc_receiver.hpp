#pragma once
// brigade::channel::mpsc_receiver<T>: the single receiving end of an mpsc
// channel (see <brigade/channel/mpsc.hpp> for the protocol).

#include <brigade/cancelled.hpp>
#include <brigade/channel/detail/mpsc_state.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace brigade::channel {

/// The receiving end of an mpsc channel. Move-only. Dropping it closes the
/// channel (waiting and later sends return false) and destroys the messages
/// still buffered.
/// Thread safety: one receive (await, try or blocking) at a time; the
/// receiver may move between threads and tasks.
template <class T>
class mpsc_receiver {
 public:
  class recv_awaiter;

  mpsc_receiver() noexcept = default;
  /// For brigade internals (the factories): adopts one reference.
  explicit mpsc_receiver(detail::mpsc_state<T>* s) noexcept : state_(s) {}
  mpsc_receiver(mpsc_receiver&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  mpsc_receiver& operator=(mpsc_receiver&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  mpsc_receiver(const mpsc_receiver&) = delete;
  mpsc_receiver& operator=(const mpsc_receiver&) = delete;
  ~mpsc_receiver() { drop(); }

  /// `std::optional<T> v = co_await rx.recv();`: the next message, or
  /// std::nullopt once the buffer is empty and every sender is gone (or the
  /// channel was closed).
  ///
  /// Resumes on: the worker that runs the task after a send (on
  /// multi_thread, usually the sender's); at once, on the same thread, when
  /// a message is buffered.
  /// Cancellation: total. An aborted recv throws brigade::cancelled and
  /// takes no message: the next recv gets it.
  /// Throws: brigade::cancelled; std::logic_error on an empty receiver or
  /// outside a spawned task.
  [[nodiscard]] recv_awaiter recv() { return recv_awaiter{checked()}; }

  /// The next message if one is buffered; else std::nullopt (empty, or the
  /// end: see is_closed()). Never waits.
  std::optional<T> try_recv() {
    detail::mpsc_state<T>* s = checked();
    detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
    std::lock_guard hold(s->lock_);
    if (s->peek() != detail::mpsc_state<T>::look::item) return std::nullopt;
    return s->pop(wakes);
  }

  /// Blocks the calling plain thread for the next message (std::nullopt at
  /// the end).
  /// Throws: std::logic_error on a thread that drives a runtime or on an
  /// empty receiver.
  std::optional<T> blocking_recv() {
    detail::check_blocking_allowed("brigade::channel::mpsc_receiver::blocking_recv");
    detail::mpsc_state<T>* s = checked();
    detail::sync_waiter w;
    bool queued = false;
    {
      std::lock_guard hold(s->lock_);
      if (s->peek() == detail::mpsc_state<T>::look::empty) {
        s->recv_waiters_.push_back(&w);
        queued = true;
      }
    }
    if (queued) w.wait_as_thread();
    return try_recv();  // woken by a send (an item) or by the end
  }

  /// Closes the channel: later and waiting sends return false (their values
  /// stay with the callers); messages already buffered can still be received,
  /// then recv returns std::nullopt. Idempotent.
  void close() noexcept {
    if (state_ == nullptr) return;
    detail::wake_list wakes;
    std::lock_guard hold(state_->lock_);
    state_->close(wakes);
  }

  /// True when no new message can arrive (closed, or every sender gone).
  /// Messages already buffered may remain: after is_closed(), a try_recv
  /// that returns std::nullopt means the end.
  bool is_closed() const noexcept {
    if (state_ == nullptr) return true;
    std::lock_guard hold(state_->lock_);
    return state_->closed_ || state_->senders_ == 0;
  }
  /// A snapshot of the number of buffered messages.
  std::size_t size() const noexcept {
    if (state_ == nullptr) return 0;
    std::lock_guard hold(state_->lock_);
    return state_->buffer_.size();
  }
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  detail::mpsc_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::mpsc_receiver is empty");
    return state_;
  }
  void drop() noexcept {
    detail::mpsc_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    detail::ring_buffer<T> unreceived;  // destroyed last: after unlocking
    {
      detail::wake_list wakes;
      std::lock_guard hold(s->lock_);
      s->close(wakes);
      unreceived = std::move(s->buffer_);
    }
    s->release();
  }

  detail::mpsc_state<T>* state_ = nullptr;
};

/// The awaitable of mpsc_receiver::recv() (see there).
template <class T>
class mpsc_receiver<T>::recv_awaiter : private detail::sync_waiter {
 public:
  explicit recv_awaiter(detail::mpsc_state<T>* s) noexcept : state_(s) {}
  recv_awaiter(const recv_awaiter&) = delete;
  recv_awaiter& operator=(const recv_awaiter&) = delete;
  ~recv_awaiter() {
    if (phase_ != phase::queued) return;
    // Only when the waiting frame is destroyed (runtime shutdown).
    if (state_->withdraw(state_->recv_waiters_, this)) {
      task_->release();  // no waker any more: its reference is ours
    } else {
      wait_until_ready();  // being woken right now; nothing was taken
    }
  }

  bool await_ready() {
    detail::task_header* me =
        detail::current_task_or_throw("brigade::channel::mpsc_receiver::recv");
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
      if (state_->peek() == detail::mpsc_state<T>::look::empty) {
        prepare_task(me, awaiting, &poll, detail::wait_kind::mpsc_recv, state_);
        state_->recv_waiters_.push_back(this);
        phase_ = phase::queued;
        return true;
      }
    }
    if (phase_ == phase::budget_spent) {
      // A message (or the end) is there, but the budget is spent: yield
      // once, then take it. Only this receiver pops, so it stays there.
      detail::yield_completed(me, awaiting);
      return true;
    }
    return false;
  }

  std::optional<T> await_resume() {
    if (phase_ == phase::withdrawn || detail::current_task()->is_cancelled()) {
      throw cancelled{};  // nothing was taken
    }
    detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
    std::lock_guard hold(state_->lock_);
    const auto look = state_->peek();
    // Woken only by a send (an item) or by the end; only we pop.
    assert(look != detail::mpsc_state<T>::look::empty);
    if (look != detail::mpsc_state<T>::look::item) return std::nullopt;
    return state_->pop(wakes);
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, queued, withdrawn, woken };

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    auto* self = static_cast<recv_awaiter*>(static_cast<detail::sync_waiter*>(node));
    if (self->is_ready()) {
      self->phase_ = cancel ? phase::withdrawn : phase::woken;  // nothing taken yet
      return true;
    }
    if (!cancel) return false;                                                     // a stale wake
    if (!self->state_->withdraw(self->state_->recv_waiters_, self)) return false;  // firing
    self->phase_ = phase::withdrawn;
    self->task_->release();  // the waker's reference: no waker any more
    return true;
  }

  detail::mpsc_state<T>* state_;
  phase phase_ = phase::idle;
};

}  // namespace brigade::channel
