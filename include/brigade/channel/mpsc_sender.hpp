#pragma once
// brigade::channel::mpsc_sender<T>: the copyable sending end of an mpsc
// channel (see <brigade/channel/mpsc.hpp> for the protocol).

#include <brigade/cancelled.hpp>
#include <brigade/channel/detail/mpsc_state.hpp>

#include <coroutine>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace brigade::channel {

/// What try_send reports.
enum class try_send_result : std::uint8_t {
  sent,    ///< the value is in the channel
  full,    ///< a bounded channel is full; the value stays with the caller
  closed,  ///< the receiver closed the channel or is gone; the value stays
};

/// A sending end of an mpsc channel. Copyable: every copy is a sender; the
/// receiver sees the end (std::nullopt) once every sender is gone.
///
/// Values are moved into the channel only when a send succeeds: a send that
/// returns false (closed), reports `full`, or is aborted leaves the caller's
/// object untouched. T needs a nothrow move constructor.
/// Thread safety: distinct sender objects (copies) may be used concurrently
/// from any threads and tasks; one sender object is not for concurrent use.
template <class T>
class mpsc_sender {
 public:
  class send_awaiter;

  mpsc_sender() noexcept = default;
  /// For brigade internals (the factories): adopts one reference.
  explicit mpsc_sender(detail::mpsc_state<T>* s) noexcept : state_(s) {}
  mpsc_sender(const mpsc_sender& other) noexcept : state_(other.state_) {
    if (state_ == nullptr) return;
    {
      std::lock_guard hold(state_->lock_);
      ++state_->senders_;
    }
    state_->add_ref();
  }
  mpsc_sender(mpsc_sender&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  mpsc_sender& operator=(const mpsc_sender& other) noexcept {
    if (this != &other) {
      mpsc_sender copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  mpsc_sender& operator=(mpsc_sender&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  ~mpsc_sender() { drop(); }

  /// `bool ok = co_await tx.send(std::move(v));`: puts `v` in the channel,
  /// waiting while a bounded channel is full (FIFO among waiting senders).
  /// Returns false when the channel is closed (the receiver closed it or is
  /// gone); `v` is then not moved from.
  ///
  /// Resumes on: the worker that runs the task once the receiver made room
  /// (on multi_thread, usually the receiver's); at once, on the same thread,
  /// when there is room.
  /// Cancellation: partial. An aborted send either throws brigade::cancelled
  /// with the value left with the caller (not moved from), or, if the value
  /// already went into the channel in the race, returns true (the abort is
  /// then delivered at the task's next cancellable await). Nothing is lost
  /// or duplicated.
  /// Throws: brigade::cancelled; std::logic_error on an empty sender or
  /// outside a spawned task; std::bad_alloc (unbounded growth).
  [[nodiscard]] send_awaiter send(T&& value) { return send_awaiter{checked(), &value}; }
  /// As send(T&&), sending a copy of `value` (made before waiting).
  [[nodiscard]] send_awaiter send(const T& value) { return send_awaiter{checked(), value}; }

  /// Sends without waiting: `sent`, or `full` / `closed` with the value left
  /// with the caller.
  /// Throws: std::logic_error on an empty sender; std::bad_alloc.
  try_send_result try_send(T&& value) {
    detail::mpsc_state<T>* s = checked();
    detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
    std::lock_guard hold(s->lock_);
    switch (s->try_push(value, wakes)) {
      case detail::mpsc_state<T>::push_outcome::sent:
        return try_send_result::sent;
      case detail::mpsc_state<T>::push_outcome::full:
        return try_send_result::full;
      case detail::mpsc_state<T>::push_outcome::closed:
        break;
    }
    return try_send_result::closed;
  }
  try_send_result try_send(const T& value) {
    T copy(value);
    return try_send(std::move(copy));
  }

  /// Blocks the calling plain thread while a bounded channel is full.
  /// Returns false (value not moved from) when the channel is closed.
  /// Throws: std::logic_error on a thread that drives a runtime or on an
  /// empty sender; std::bad_alloc.
  bool blocking_send(T&& value) {
    detail::check_blocking_allowed("brigade::channel::mpsc_sender::blocking_send");
    detail::mpsc_state<T>* s = checked();
    detail::mpsc_send_waiter<T> w;
    w.value_ = &value;
    switch (s->send_or_link(&w, [] {})) {
      case detail::mpsc_state<T>::push_outcome::sent:
        return true;
      case detail::mpsc_state<T>::push_outcome::closed:
        return false;
      case detail::mpsc_state<T>::push_outcome::full:
        break;
    }
    w.wait_as_thread();
    return w.sent_;
  }
  bool blocking_send(const T& value) {
    T copy(value);
    return blocking_send(std::move(copy));
  }

  /// True once the receiver closed the channel or is gone.
  bool is_closed() const noexcept {
    if (state_ == nullptr) return true;
    std::lock_guard hold(state_->lock_);
    return state_->closed_;
  }
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  detail::mpsc_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::mpsc_sender is empty");
    return state_;
  }
  void drop() noexcept {
    detail::mpsc_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    {
      detail::wake_list wakes;
      std::lock_guard hold(s->lock_);
      // The last sender: a waiting receiver learns the end.
      if (--s->senders_ == 0) {
        if (detail::sync_waiter* r = s->recv_waiters_.pop_front()) wakes.push(r);
      }
    }
    s->release();
  }

  detail::mpsc_state<T>* state_ = nullptr;
};

/// The awaitable of mpsc_sender::send() (see there).
template <class T>
class mpsc_sender<T>::send_awaiter : private detail::mpsc_send_waiter<T> {
  using waiter = detail::mpsc_send_waiter<T>;

 public:
  send_awaiter(detail::mpsc_state<T>* s, T* value) noexcept : state_(s) { this->value_ = value; }
  send_awaiter(detail::mpsc_state<T>* s, const T& value) : state_(s), copy_(value) {
    this->value_ = &*copy_;
  }
  send_awaiter(const send_awaiter&) = delete;
  send_awaiter& operator=(const send_awaiter&) = delete;
  ~send_awaiter() {
    if (phase_ != phase::queued) return;
    // Only when the waiting frame is destroyed (runtime shutdown).
    if (state_->withdraw(state_->send_waiters_, this)) {
      this->task_->release();  // no waker any more: its reference is ours
    } else {
      this->wait_until_ready();  // being handed a slot (or closed) right now
    }
  }

  bool await_ready() {
    detail::task_header* me = detail::current_task_or_throw("brigade::channel::mpsc_sender::send");
    if (me->is_cancelled()) {
      phase_ = phase::withdrawn;
      return true;
    }
    if (!detail::consume_budget()) phase_ = phase::budget_spent;
    return false;
  }

  bool await_suspend(std::coroutine_handle<> awaiting) {
    detail::task_header* me = detail::current_task();
    using outcome = typename detail::mpsc_state<T>::push_outcome;
    switch (state_->send_or_link(this, [&] {
      this->prepare_task(me, awaiting, &poll, detail::wait_kind::mpsc_send, state_);
    })) {
      case outcome::sent:
        this->sent_ = true;
        if (phase_ == phase::budget_spent) {
          phase_ = phase::done;
          detail::yield_completed(me, awaiting);  // sent; yield before returning
          return true;
        }
        phase_ = phase::done;
        return false;
      case outcome::closed:
        phase_ = phase::done;
        return false;
      case outcome::full:
        break;
    }
    phase_ = phase::queued;
    return true;
  }

  bool await_resume() {
    if (phase_ == phase::withdrawn) throw cancelled{};
    return this->sent_;
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, queued, withdrawn, done };

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    auto* self = static_cast<send_awaiter*>(static_cast<waiter*>(node));
    if (self->is_ready()) {
      self->phase_ = phase::done;  // sent or closed: deliver it, even if aborted
      return true;
    }
    if (!cancel) return false;                                                     // a stale wake
    if (!self->state_->withdraw(self->state_->send_waiters_, self)) return false;  // firing
    self->phase_ = phase::withdrawn;
    self->task_->release();  // the waker's reference: no waker any more
    return true;
  }

  detail::mpsc_state<T>* state_;
  std::optional<T> copy_;  // an lvalue send's copy; value_ points into it
  phase phase_ = phase::idle;
};

}  // namespace brigade::channel
