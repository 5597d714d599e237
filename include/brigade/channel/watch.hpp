#pragma once
// brigade::channel::watch<T>(initial): one latest value, change notification.
//
// Moving parts (one heap block, watch_state<T>, guarded by lock_)
//   value_     the latest value
//   version_   bumped by every send; the initial value is version 0
//   waiters_   receivers waiting in changed()
//   sender_gone_, receivers_, refs_
// Each receiver remembers the version it saw last (seen_). changed() returns
// at once while version_ != seen_; otherwise it waits for a send (or for the
// sender to go). Waiting takes nothing: a woken receiver compares versions
// again when it resumes, so an aborted changed() leaves seen_ as it was.

#include <brigade/cancelled.hpp>
#include <brigade/channel/closed_error.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace brigade {
namespace detail {

template <class T>
struct watch_state {
  explicit watch_state(T initial) : value_(std::move(initial)) {}

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
  T value_;
  std::uint64_t version_ = 0;
  bool sender_gone_ = false;
  std::size_t receivers_ = 1;
  waiter_list waiters_;
  atomic<std::size_t> refs_{2};
};

}  // namespace detail

namespace channel {

template <class T>
class watch_sender;
template <class T>
class watch_receiver;

/// A watch channel holding `initial`: `auto [tx, rx] = channel::watch(cfg);`
/// Receivers see the latest value and wait for changes; intermediate values
/// may be skipped (latest value wins).
template <class T>
endpoints<watch_sender<T>, watch_receiver<T>> watch(T initial);

/// The sending end of a watch channel. Move-only (one producer).
/// Thread safety: one sender object is not for concurrent use; it may be
/// used on any thread, concurrently with the receivers.
template <class T>
class watch_sender {
 public:
  watch_sender() noexcept = default;
  /// For brigade internals (the factory): adopts one reference.
  explicit watch_sender(detail::watch_state<T>* s) noexcept : state_(s) {}
  watch_sender(watch_sender&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  watch_sender& operator=(watch_sender&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  watch_sender(const watch_sender&) = delete;
  watch_sender& operator=(const watch_sender&) = delete;
  ~watch_sender() { drop(); }

  /// Replaces the value (a new version) and wakes every waiting receiver.
  /// Never waits. The value is stored even when no receiver exists (a later
  /// subscribe() sees it); returns whether any receiver exists.
  /// Throws: std::logic_error on an empty sender; T's move's exceptions.
  bool send(T value) {
    detail::watch_state<T>* s = checked();
    detail::wake_list wakes;  // destroyed after `hold`: wakes after unlocking
    std::lock_guard hold(s->lock_);
    using std::swap;
    swap(s->value_, value);  // the old value dies with `value`, after unlocking
    ++s->version_;
    while (detail::sync_waiter* w = s->waiters_.pop_front()) wakes.push(w);
    return s->receivers_ > 0;
  }

  /// A copy of the current value.
  T borrow() const {
    detail::watch_state<T>* s = checked();
    std::lock_guard hold(s->lock_);
    return s->value_;
  }

  /// A new receiver; the current value counts as seen by it.
  watch_receiver<T> subscribe() {
    detail::watch_state<T>* s = checked();
    std::uint64_t seen = 0;
    {
      std::lock_guard hold(s->lock_);
      ++s->receivers_;
      seen = s->version_;
    }
    s->add_ref();
    return watch_receiver<T>{s, seen};
  }

  std::size_t receiver_count() const noexcept {
    if (state_ == nullptr) return 0;
    std::lock_guard hold(state_->lock_);
    return state_->receivers_;
  }
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  detail::watch_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::watch_sender is empty");
    return state_;
  }
  void drop() noexcept {
    detail::watch_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    {
      detail::wake_list wakes;
      std::lock_guard hold(s->lock_);
      s->sender_gone_ = true;
      while (detail::sync_waiter* w = s->waiters_.pop_front()) wakes.push(w);
    }
    s->release();
  }

  detail::watch_state<T>* state_ = nullptr;
};

/// A receiving end of a watch channel. Copyable: a copy has seen what the
/// original has seen.
/// Thread safety: one call at a time per receiver object; distinct
/// receivers may be used concurrently.
template <class T>
class watch_receiver {
 public:
  class changed_awaiter;

  watch_receiver() noexcept = default;
  /// For brigade internals: adopts one reference; `seen` is the version seen.
  watch_receiver(detail::watch_state<T>* s, std::uint64_t seen) noexcept : state_(s), seen_(seen) {}
  watch_receiver(const watch_receiver& other) noexcept : state_(other.state_), seen_(other.seen_) {
    if (state_ == nullptr) return;
    {
      std::lock_guard hold(state_->lock_);
      ++state_->receivers_;
    }
    state_->add_ref();
  }
  watch_receiver(watch_receiver&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), seen_(other.seen_) {}
  watch_receiver& operator=(watch_receiver other) noexcept {
    std::swap(state_, other.state_);
    std::swap(seen_, other.seen_);
    return *this;
  }
  ~watch_receiver() {
    detail::watch_state<T>* s = std::exchange(state_, nullptr);
    if (s == nullptr) return;
    {
      std::lock_guard hold(s->lock_);
      --s->receivers_;
    }
    s->release();
  }

  /// A copy of the latest value (does not mark it seen). The value is
  /// copied under the channel's lock, so no reference into the channel
  /// outlives the call.
  T borrow() const {
    detail::watch_state<T>* s = checked();
    std::lock_guard hold(s->lock_);
    return s->value_;
  }
  /// A copy of the latest value, marking it seen.
  T borrow_and_update() {
    detail::watch_state<T>* s = checked();
    std::lock_guard hold(s->lock_);
    seen_ = s->version_;
    return s->value_;
  }
  /// True when a version not yet seen is there. Never waits.
  bool has_changed() const {
    detail::watch_state<T>* s = checked();
    std::lock_guard hold(s->lock_);
    return s->version_ != seen_;
  }

  /// `bool more = co_await rx.changed();`: waits until a version newer than
  /// the last seen exists and marks it seen (read it with borrow()). Returns
  /// false once the sender is gone and nothing new remains unseen.
  ///
  /// Resumes on: the worker that runs the task after the send; at once, on
  /// the same thread, when an unseen version is already there.
  /// Cancellation: total. An aborted wait throws brigade::cancelled and
  /// marks nothing seen.
  /// Throws: brigade::cancelled; std::logic_error on an empty receiver or
  /// outside a spawned task.
  [[nodiscard]] changed_awaiter changed() { return changed_awaiter{*this}; }

  /// As changed(), blocking the calling plain thread.
  /// Throws: std::logic_error on a thread that drives a runtime.
  bool blocking_changed() {
    detail::check_blocking_allowed("brigade::channel::watch_receiver::blocking_changed");
    detail::watch_state<T>* s = checked();
    detail::sync_waiter w;
    {
      std::lock_guard hold(s->lock_);
      if (s->version_ == seen_ && !s->sender_gone_)
        s->waiters_.push_back(&w);
      else
        return mark_seen_locked(s);
    }
    w.wait_as_thread();
    std::lock_guard hold(s->lock_);
    return mark_seen_locked(s);
  }

  bool valid() const noexcept { return state_ != nullptr; }

 private:
  detail::watch_state<T>* checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::channel::watch_receiver is empty");
    return state_;
  }
  /// Under the lock, when not waiting: true with the version marked seen,
  /// or false (the sender is gone, nothing new).
  bool mark_seen_locked(detail::watch_state<T>* s) noexcept {
    if (s->version_ == seen_) return false;
    seen_ = s->version_;
    return true;
  }

  detail::watch_state<T>* state_ = nullptr;
  std::uint64_t seen_ = 0;
};

/// The awaitable of watch_receiver::changed() (see there).
template <class T>
class watch_receiver<T>::changed_awaiter : private detail::sync_waiter {
 public:
  explicit changed_awaiter(watch_receiver& rx) : rx_(rx), state_(rx.checked()) {}
  changed_awaiter(const changed_awaiter&) = delete;
  changed_awaiter& operator=(const changed_awaiter&) = delete;
  ~changed_awaiter() {
    if (phase_ != phase::queued) return;
    // Only when the waiting frame is destroyed (runtime shutdown).
    if (state_->withdraw(this)) {
      task_->release();  // no waker any more: its reference is ours
    } else {
      wait_until_ready();  // being woken right now
    }
  }

  bool await_ready() {
    detail::task_header* me =
        detail::current_task_or_throw("brigade::channel::watch_receiver::changed");
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
      if (state_->version_ == rx_.seen_ && !state_->sender_gone_) {
        prepare_task(me, awaiting, &poll, detail::wait_kind::watch, state_);
        state_->waiters_.push_back(this);
        phase_ = phase::queued;
        return true;
      }
    }
    if (phase_ == phase::budget_spent) {
      detail::yield_completed(me, awaiting);  // versions only grow: still there
      return true;
    }
    return false;
  }

  bool await_resume() {
    if (phase_ == phase::withdrawn || detail::current_task()->is_cancelled()) {
      throw cancelled{};  // nothing marked seen
    }
    std::lock_guard hold(state_->lock_);
    return rx_.mark_seen_locked(state_);
  }

 private:
  enum class phase : std::uint8_t { idle, budget_spent, queued, withdrawn, woken };

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    auto* self = static_cast<changed_awaiter*>(static_cast<detail::sync_waiter*>(node));
    if (self->is_ready()) {
      self->phase_ = cancel ? phase::withdrawn : phase::woken;
      return true;
    }
    if (!cancel) return false;                        // a stale wake
    if (!self->state_->withdraw(self)) return false;  // firing: its wake re-polls us
    self->phase_ = phase::withdrawn;
    self->task_->release();  // the waker's reference: no waker any more
    return true;
  }

  watch_receiver& rx_;
  detail::watch_state<T>* state_;
  phase phase_ = phase::idle;
};

template <class T>
endpoints<watch_sender<T>, watch_receiver<T>> watch(T initial) {
  auto* s = new detail::watch_state<T>(std::move(initial));
  return {watch_sender<T>{s}, watch_receiver<T>{s, 0}};
}

}  // namespace channel
}  // namespace brigade
