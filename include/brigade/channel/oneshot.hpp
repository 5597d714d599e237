#pragma once
// brigade::channel::oneshot<T>: one value, from one sender to one receiver.
//
// Moving parts
//   oneshot_state<T>  one heap block shared by the two ends (refs_ = 2 at
//                     creation; the last end to go deletes it). value_, the
//                     flags and the receiver's waiter are guarded by lock_.
//   The receiver waits for "a value or the sender gone": the sender's send
//   (or its destructor) unlinks the waiter under the lock and wakes it after
//   unlocking (detail/waiter.hpp protocol). The value stays in the state
//   until the receiver takes it in await_resume, so an aborted receive loses
//   nothing: awaiting the receiver again still gets the value.

#include <brigade/cancelled.hpp>
#include <brigade/channel/closed_error.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace brigade {
namespace detail {

template <class T>
struct oneshot_state {
  enum class look : std::uint8_t { value, empty, closed, taken };

  /// Under lock_.
  look peek() const noexcept {
    if (value_) return look::value;
    if (taken_) return look::taken;
    if (sender_gone_) return look::closed;
    return look::empty;
  }
  /// Under lock_, when peek() == value.
  T take() {
    T v = std::move(*value_);
    value_.reset();
    taken_ = true;
    return v;
  }
  /// Under lock_: wakes the receiver if it waits.
  void wake_receiver(wake_list& wakes) noexcept {
    if (sync_waiter* w = waiters_.pop_front()) wakes.push(w);
  }
  void release() noexcept {
    // acq_rel: the last end sees every write of the other before deleting.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

  spin_lock lock_;
  std::optional<T> value_;
  bool sender_gone_ = false;  // sent or dropped: no value will come any more
  bool receiver_gone_ = false;
  bool taken_ = false;
  waiter_list waiters_;  // the receiver, when it waits
  atomic<int> refs_{2};
};

[[noreturn]] inline void throw_oneshot_taken() {
  throw std::logic_error("brigade::channel::oneshot: the value was already received");
}

}  // namespace detail

namespace channel {

template <class T>
class oneshot_sender;
template <class T>
class oneshot_receiver;

/// A channel for exactly one value: `auto [tx, rx] = channel::oneshot<T>();`
/// Allocates the shared state once (here); waiting allocates nothing.
template <class T>
endpoints<oneshot_sender<T>, oneshot_receiver<T>> oneshot();

/// The sending end of a oneshot channel. Move-only. Dropping it without
/// sending makes the receiver throw closed_error.
/// Thread safety: one sender is not for concurrent use; it may be used and
/// dropped on any thread, concurrently with the receiver.
template <class T>
class oneshot_sender {
 public:
  oneshot_sender() noexcept = default;
  oneshot_sender(oneshot_sender&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  oneshot_sender& operator=(oneshot_sender&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  oneshot_sender(const oneshot_sender&) = delete;
  oneshot_sender& operator=(const oneshot_sender&) = delete;
  ~oneshot_sender() { drop(); }

  /// Sends the value and wakes the receiver. Never waits.
  /// Returns false, leaving `value` untouched, when the receiver is gone;
  /// the sender then stays valid. After a successful send the sender is
  /// empty. Throws: std::logic_error on an empty sender (already sent).
  bool send(T&& value) {
    detail::oneshot_state<T>* s = checked();
    {
      detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
      std::lock_guard hold(s->lock_);
      if (s->receiver_gone_) return false;
      s->value_.emplace(std::move(value));
      s->sender_gone_ = true;
      s->wake_receiver(wakes);
    }
    std::exchange(state_, nullptr)->release();
    return true;
  }
  /// Sends a copy of `value` (see send(T&&)).
  bool send(const T& value) {
    T copy(value);
    return send(std::move(copy));
  }

  /// True once the receiver is gone (a send would return false).
  bool is_closed() const noexcept {
    if (state_ == nullptr) return true;
    std::lock_guard hold(state_->lock_);
    return state_->receiver_gone_;
  }
  /// False once sent (or moved from).
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  friend endpoints<oneshot_sender<T>, oneshot_receiver<T>> oneshot<T>();
  explicit oneshot_sender(detail::oneshot_state<T>* s) noexcept : state_(s) {}

  detail::oneshot_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::oneshot_sender is empty");
    return state_;
  }
  void drop() noexcept {
    detail::oneshot_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    {
      detail::wake_list wakes;
      std::lock_guard hold(s->lock_);
      s->sender_gone_ = true;
      s->wake_receiver(wakes);
    }
    s->release();
  }

  detail::oneshot_state<T>* state_ = nullptr;
};

/// The receiving end of a oneshot channel. Move-only.
/// `T v = co_await rx;` waits for the value.
/// Thread safety: one receiver is not for concurrent use (one await, try or
/// blocking receive at a time); it may be used on any thread.
template <class T>
class oneshot_receiver {
 public:
  class awaiter;

  oneshot_receiver() noexcept = default;
  oneshot_receiver(oneshot_receiver&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  oneshot_receiver& operator=(oneshot_receiver&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  oneshot_receiver(const oneshot_receiver&) = delete;
  oneshot_receiver& operator=(const oneshot_receiver&) = delete;
  ~oneshot_receiver() { drop(); }

  /// `T v = co_await rx;`: waits for the value.
  ///
  /// Resumes on: the worker that runs the task after the send; at once, on
  /// the same thread, when the value is already there.
  /// Cancellation: total. An aborted receive throws brigade::cancelled and
  /// takes nothing: the value stays in the channel for the next receive.
  /// Throws: closed_error when the sender was dropped without sending;
  /// std::logic_error when the value was already received, on an empty
  /// receiver, or outside a spawned task; brigade::cancelled.
  awaiter operator co_await() & { return awaiter{checked()}; }
  awaiter operator co_await() && { return awaiter{checked()}; }

  /// The value if it arrived; std::nullopt while it has not. Never waits.
  /// Throws: closed_error when the sender was dropped without sending;
  /// std::logic_error when the value was already received.
  std::optional<T> try_recv() {
    detail::oneshot_state<T>* s = checked();
    std::lock_guard hold(s->lock_);
    switch (s->peek()) {
      case detail::oneshot_state<T>::look::value:
        return s->take();
      case detail::oneshot_state<T>::look::empty:
        return std::nullopt;
      case detail::oneshot_state<T>::look::closed:
        throw channel::closed_error{};
      case detail::oneshot_state<T>::look::taken:
        break;
    }
    detail::throw_oneshot_taken();
  }

  /// Blocks the calling plain thread until the value arrives.
  /// Throws: as try_recv; std::logic_error on a thread that drives a runtime.
  T blocking_recv() {
    detail::check_blocking_allowed("brigade::channel::oneshot_receiver::blocking_recv");
    detail::oneshot_state<T>* s = checked();
    detail::sync_waiter w;
    bool queued = false;
    {
      std::lock_guard hold(s->lock_);
      if (s->peek() == detail::oneshot_state<T>::look::empty) {
        s->waiters_.push_back(&w);
        queued = true;
      }
    }
    if (queued) w.wait_as_thread();
    std::optional<T> v = try_recv();
    return std::move(*v);  // the sender sent or is gone: try_recv has a value or threw
  }

  bool valid() const noexcept { return state_ != nullptr; }

 private:
  friend endpoints<oneshot_sender<T>, oneshot_receiver<T>> oneshot<T>();
  explicit oneshot_receiver(detail::oneshot_state<T>* s) noexcept : state_(s) {}

  detail::oneshot_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::oneshot_receiver is empty");
    return state_;
  }
  void drop() noexcept {
    detail::oneshot_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    std::optional<T> unreceived;  // destroyed after unlocking
    {
      std::lock_guard hold(s->lock_);
      s->receiver_gone_ = true;
      unreceived = std::move(s->value_);
      s->value_.reset();
    }
    s->release();
  }

  detail::oneshot_state<T>* state_ = nullptr;
};

/// The awaitable of `co_await oneshot_receiver` (see there).
template <class T>
class oneshot_receiver<T>::awaiter : private detail::sync_waiter {
 public:
  explicit awaiter(detail::oneshot_state<T>* s) noexcept : state_(s) {}
  awaiter(const awaiter&) = delete;
  awaiter& operator=(const awaiter&) = delete;
  ~awaiter() {
    if (phase_ != phase::queued) return;
    // Only when the waiting frame is destroyed (runtime shutdown).
    if (withdraw()) {
      task_->release();  // no waker any more: its reference is ours
    } else {
      wait_until_ready();  // being woken right now; nothing was taken
    }
  }

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::channel::oneshot_receiver");
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
      if (state_->peek() == detail::oneshot_state<T>::look::empty) {
        prepare_task(me, awaiting, &poll, detail::wait_kind::oneshot, state_);
        state_->waiters_.push_back(this);
        phase_ = phase::queued;
        return true;
      }
    }
    if (phase_ == phase::budget_spent) {
      // Ready, but the turn's budget is spent: yield once, then take.
      detail::yield_completed(me, awaiting);
      return true;
    }
    return false;
  }

  T await_resume() {
    if (phase_ == phase::withdrawn || detail::current_task()->is_cancelled()) {
      throw cancelled{};  // nothing was taken
    }
    std::lock_guard hold(state_->lock_);
    switch (state_->peek()) {
      case detail::oneshot_state<T>::look::value:
        return state_->take();
      case detail::oneshot_state<T>::look::closed:
        throw channel::closed_error{};
      case detail::oneshot_state<T>::look::empty:
      case detail::oneshot_state<T>::look::taken:
        break;
    }
    detail::throw_oneshot_taken();
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, queued, withdrawn, woken };

  bool withdraw() noexcept {
    std::lock_guard hold(state_->lock_);
    if (!linked_) return false;
    state_->waiters_.remove(this);
    return true;
  }

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    auto* self = static_cast<awaiter*>(static_cast<detail::sync_waiter*>(node));
    if (self->is_ready()) {
      self->phase_ = cancel ? phase::withdrawn : phase::woken;  // nothing taken yet
      return true;
    }
    if (!cancel) return false;            // a stale wake
    if (!self->withdraw()) return false;  // firing: its wake re-polls us
    self->phase_ = phase::withdrawn;
    self->task_->release();  // the waker's reference: no waker any more
    return true;
  }

  detail::oneshot_state<T>* state_;
  phase phase_ = phase::idle;
};

template <class T>
endpoints<oneshot_sender<T>, oneshot_receiver<T>> oneshot() {
  auto* s = new detail::oneshot_state<T>();
  return {oneshot_sender<T>{s}, oneshot_receiver<T>{s}};
}

}  // namespace channel
}  // namespace brigade
