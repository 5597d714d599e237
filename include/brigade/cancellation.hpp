#pragma once
// Cancellation usable by user code: sources, tokens, callbacks, and shielding.
//
// Two mechanisms meet here (docs/guide/cancellation.md):
//   - task abort (join_handle::abort, when_any losers, task_group, runtime
//     shutdown): the task throws brigade::cancelled at its next cancellable
//     await;
//   - cancellation_source / cancellation_token: a thread-safe flag with
//     callbacks, which user code checks, awaits, or binds to a task abort
//     (bind_cancellation).
// uncancellable(t) shields cleanup work from the enclosing task's abort.

#include <brigade/cancelled.hpp>
#include <brigade/detail/cancellation_state.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/shielded_join.hpp>
#include <brigade/detail/wait_info.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/task.hpp>

#include <brigade/source_location.hpp>
#include <coroutine>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace brigade {

template <class F>
class cancellation_callback;

/// The observing side of a cancellation_source: cheap to copy, thread-safe.
///
/// A default-constructed token can never be cancelled.
/// Thread safety: every member may be called from any thread; copies share
/// the source's state.
/// Example:
///   brigade::cancellation_source src;
///   auto tok = src.token();
///   brigade::spawn(worker(tok));   // worker checks tok or awaits tok.cancelled()
///   src.request_cancellation();
class cancellation_token {
 public:
  cancellation_token() noexcept = default;
  cancellation_token(const cancellation_token& other) noexcept : state_(other.state_) {
    if (state_ != nullptr) state_->add_ref();
  }
  cancellation_token(cancellation_token&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  cancellation_token& operator=(cancellation_token other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~cancellation_token() {
    if (state_ != nullptr) state_->release();
  }

  /// True once the source requested cancellation (acquire: what the
  /// requester wrote before requesting is visible).
  bool is_cancellation_requested() const noexcept {
    return state_ != nullptr && state_->is_requested();
  }
  /// False for a default-constructed token (nothing can cancel it).
  bool can_be_cancelled() const noexcept { return state_ != nullptr; }

  class cancelled_awaiter;

  /// `co_await token.cancelled()`: suspends the task until cancellation is
  /// requested (completes at once if it already was).
  ///
  /// Resumes on: a worker of the task's runtime, after the thread that
  /// requested cancellation woke it.
  /// Cancellation: cancellable (total): if the awaiting task is aborted it
  /// withdraws and throws brigade::cancelled; nothing is lost.
  /// Throws: brigade::cancelled; std::logic_error outside a spawned task.
  /// Example: co_await tok.cancelled(); co_await flush_and_close();
  [[nodiscard]] cancelled_awaiter cancelled() const noexcept;

  /// For brigade internals.
  detail::cancellation_state* state() const noexcept { return state_; }
  explicit cancellation_token(detail::cancellation_state* adopted) noexcept : state_(adopted) {}

 private:
  detail::cancellation_state* state_ = nullptr;
};

/// The requesting side: owns a cancellation state. Copies share it (any copy
/// may request). A source built from a parent token is cancelled when the
/// parent is (never the other way round).
///
/// Thread safety: every member may be called from any thread.
/// Example:
///   brigade::cancellation_source request_scope{server_token};  // linked child
///   request_scope.request_cancellation();  // cancels this request only
class cancellation_source {
 public:
  cancellation_source() : state_(detail::cancellation_state::create()) {}
  /// A child source: cancelled when `parent` is (at once if it already is).
  explicit cancellation_source(const cancellation_token& parent)
      : state_(detail::cancellation_state::create_linked(parent.state())) {}
  cancellation_source(const cancellation_source& other) noexcept : state_(other.state_) {
    state_->add_ref();
  }
  cancellation_source& operator=(cancellation_source other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~cancellation_source() {
    if (state_ != nullptr) state_->release();
  }

  /// Requests cancellation: runs every registered callback on this thread,
  /// wakes every task in token.cancelled(), cancels linked children.
  /// Returns true for the call that made the request, false afterwards.
  bool request_cancellation() noexcept { return state_->request(); }
  bool is_cancellation_requested() const noexcept { return state_->is_requested(); }

  cancellation_token token() const noexcept {
    state_->add_ref();
    return cancellation_token{state_};
  }

 private:
  detail::cancellation_state* state_;
};

/// An RAII registration: `f()` runs once when the token's cancellation is
/// requested: inline in the constructor if it already was, else on the
/// thread that requests it. Destroying the registration deregisters it; if
/// `f` is running on another thread at that moment, the destructor waits
/// for it to return (so `f` never runs after its registration is gone).
///
/// `f` must not throw (it is called from noexcept code: std::terminate).
/// Thread safety: construction and destruction on any thread.
/// Example (abort a task when a token fires):
///   auto h = brigade::spawn(work());
///   brigade::cancellation_callback cb{tok, [&h] { h.abort(); }};
template <class F>
class cancellation_callback {
 public:
  template <class G>
  requires std::is_constructible_v<F, G&&> cancellation_callback(const cancellation_token& token,
                                                                 G&& f)
      : fn_(std::forward<G>(f)), state_(token.state()) {
    node_.kind_ = detail::cancel_node::kind::callback;
    node_.fire = &fire;
    node_.owner = this;
    if (state_ == nullptr) return;  // a token that can never be cancelled
    if (state_->try_register(&node_)) {
      state_->add_ref();
    } else {
      state_ = nullptr;
      fn_();  // already requested: run inline
    }
  }
  cancellation_callback(const cancellation_callback&) = delete;
  cancellation_callback& operator=(const cancellation_callback&) = delete;
  ~cancellation_callback() {
    if (state_ == nullptr) return;
    state_->deregister(&node_);
    state_->release();
  }

 private:
  struct owned_node : detail::cancel_node {
    cancellation_callback* owner = nullptr;
  };
  static void fire(detail::cancel_node* node) noexcept {
    static_cast<owned_node*>(node)->owner->fn_();
  }

  F fn_;
  owned_node node_{};
  detail::cancellation_state* state_;
};

template <class F>
cancellation_callback(const cancellation_token&, F) -> cancellation_callback<F>;

class cancellation_token::cancelled_awaiter {
 public:
  explicit cancelled_awaiter(detail::cancellation_state* s) noexcept : state_(s) {}
  cancelled_awaiter(const cancelled_awaiter&) = delete;
  cancelled_awaiter& operator=(const cancelled_awaiter&) = delete;
  ~cancelled_awaiter() {
    // Only reached linked when the frame is destroyed while parked (runtime
    // shutdown): withdraw, and drop the reference no waker will consume.
    if (registered_ && state_->deregister(&node_)) node_.task_->release();
  }

  bool await_ready() {
    detail::task_header* me = detail::current_task();
    if (me == nullptr) throw std::logic_error("token.cancelled() awaited outside a spawned task");
    if (me->is_cancelled()) {
      withdrawn_ = true;
      return true;
    }
    if (state_ != nullptr && state_->is_requested()) {
      if (detail::consume_budget()) return true;
      yield_once_ = true;  // budget spent: yield once, then complete
    }
    return false;
  }

  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    if (yield_once_) {
      me->resume_ = reinterpret_cast<std::uintptr_t>(awaiting.address());
      me->wake_by_ref();
      return true;
    }
    node_.kind_ = detail::cancel_node::kind::waiter;
    detail::set_wait(me, detail::wait_kind::cancellation, state_);
    node_.poll = &poll;
    node_.handle = awaiting;
    node_.owner = this;
    node_.task_ = me;
    me->resume_ = reinterpret_cast<std::uintptr_t>(static_cast<detail::wait_node*>(&node_)) | 1u;
    if (state_ == nullptr) return true;  // never fires: only an abort ends the wait
    me->add_ref();  // the waker's reference: consumed by request() or a withdrawal
    if (!state_->try_register(&node_)) {
      me->release();
      return false;  // requested meanwhile
    }
    registered_ = true;
    return true;
  }

  void await_resume() const {
    if (withdrawn_) throw brigade::cancelled{};
  }

 private:
  struct owned_node : detail::cancel_waiter_node, detail::wait_node {
    cancelled_awaiter* owner = nullptr;
  };

  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    cancelled_awaiter* self = static_cast<owned_node*>(node)->owner;
    // acquire: pairs with the release in cancellation_state::request().
    if (self->node_.ready_.load(detail::memory_order_acquire)) {
      self->registered_ = false;  // request() consumed the waker's reference
      return true;
    }
    if (!cancel) return false;  // a stale wake
    if (self->state_ == nullptr) {
      self->withdrawn_ = true;
      return true;
    }
    if (self->state_->deregister(&self->node_)) {
      self->registered_ = false;
      self->withdrawn_ = true;
      self->node_.task_->release();  // no waker any more
      return true;
    }
    // request() unlinked us and marked us ready under its lock: completed.
    self->registered_ = false;
    return true;
  }

  detail::cancellation_state* state_;
  owned_node node_{};
  bool registered_ = false;
  bool withdrawn_ = false;
  bool yield_once_ = false;
};

inline cancellation_token::cancelled_awaiter cancellation_token::cancelled() const noexcept {
  return cancelled_awaiter{state_};
}

namespace detail {
/// Aborts one task; the callback type behind bind_cancellation.
struct abort_task_fn {
  task_header* task;
  void operator()() const noexcept { task->abort(); }
};
}  // namespace detail

/// Aborts the calling task when `token` fires, for as long as the returned
/// registration lives (keep it in the task's frame: `auto reg = ...;`). The
/// task then throws brigade::cancelled at its next cancellable await.
///
/// Thread safety: call from inside a spawned task.
/// Throws: std::logic_error outside a spawned task.
/// Example:
///   auto reg = brigade::bind_cancellation(tok);
///   co_await long_operation();   // throws brigade::cancelled once tok fires
[[nodiscard]] inline cancellation_callback<detail::abort_task_fn> bind_cancellation(
    const cancellation_token& token) {
  detail::task_header* me = detail::current_task();
  if (me == nullptr) throw std::logic_error("brigade::bind_cancellation outside a spawned task");
  return cancellation_callback<detail::abort_task_fn>{token, detail::abort_task_fn{me}};
}

/// Aborts the task behind `handle` when `token` fires, for as long as the
/// returned registration lives. `handle` must outlive the registration.
template <class T>
[[nodiscard]] cancellation_callback<detail::abort_task_fn> bind_cancellation(
    const cancellation_token& token, join_handle<T>& handle) {
  if (!handle.valid()) throw std::logic_error("brigade::bind_cancellation: empty join_handle");
  return cancellation_callback<detail::abort_task_fn>{token,
                                                      detail::abort_task_fn{handle.header()}};
}

/// Runs `t` shielded from the enclosing task's abort: t's cancellable awaits
/// do not throw while it runs, and the enclosing task's abort takes effect
/// at its first cancellable await after the shield. For cleanup that must
/// finish (flush, close, release a remote lease).
///
/// Today `t` runs as its own spawned task (one extra spawn); the parent
/// waits for it without withdrawing. Runtime shutdown still destroys it.
/// Resumes on: the worker that completes `t`.
/// Cancellation: none while `t` runs (the shield); see above for after.
/// Throws: what `t` throws; brigade::cancelled if the runtime shut down;
/// std::logic_error outside a spawned task.
/// Example:
///   catch (const brigade::cancelled&) { /* cannot co_await in a handler */ }
///   co_await brigade::uncancellable(conn.close());
template <class T>
task<T> uncancellable(task<T> t, source_location location = source_location::current()) {
  if (detail::current_task() == nullptr) {
    throw std::logic_error("brigade::uncancellable awaited outside a spawned task");
  }
  co_return co_await detail::shielded_join<T>{std::move(t), location};
}

}  // namespace brigade
