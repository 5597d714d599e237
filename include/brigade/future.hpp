#pragma once
// brigade::promise<T> / brigade::future<T>: a one-shot result that connects
// the three styles (callbacks, promises, async/await) and plain threads.
//
//   brigade::promise<int> p;
//   brigade::future<int> f = p.get_future();
//   std::thread([p = std::move(p)]() mutable { p.set_value(42); }).detach();
//   int v = co_await f;      // in a task; or f.get() on a plain thread;
//                            // or f.then([](int v) { ... }) as a callback
//
// The shared state and its protocol are in detail/future_state.hpp.

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/future_state.hpp>
#include <brigade/detail/wait_info.hpp>
#include <brigade/runtime.hpp>
#include <brigade/task.hpp>
#include <brigade/when.hpp>

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace brigade {

/// Thrown by a future (co_await, get, then) whose promise was destroyed
/// without a value or an exception.
class broken_promise : public std::logic_error {
 public:
  broken_promise() : std::logic_error("brigade: broken promise (destroyed without a value)") {}
};

/// Receives errors that no consumer can observe any more: a future destroyed
/// holding an exception nobody took, a from_callback resolve called twice.
/// `context` says which. Must not throw (it would be dropped).
using unobserved_error_handler = std::function<void(std::exception_ptr, std::string_view context)>;

/// Installs `handler` (empty: the default, which prints to stderr) and
/// returns the previous one. Process-wide; any thread.
unobserved_error_handler set_unobserved_error_handler(unobserved_error_handler handler);

template <class T>
class future;

/// The producing side. Move only. Thread safety: one promise is used by one
/// thread at a time; set_* may run on any thread, concurrently with the
/// future being awaited, waited on or continued.
template <class T>
class promise {
 public:
  promise() : state_(new detail::future_state<T>) {}
  promise(promise&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  promise& operator=(promise&& other) noexcept {
    if (this != &other) {
      reset();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;
  /// Unfulfilled: the future (if any) throws brigade::broken_promise.
  ~promise() { reset(); }

  /// The future of this promise. Once.
  /// Throws: std::logic_error when called twice or on a moved-from promise.
  future<T> get_future();

  /// Fulfils the promise (set_value() for promise<void>): wakes the awaiting
  /// task, unblocks get()/wait(), and runs a then() continuation inline on
  /// this thread.
  /// Throws: std::logic_error when already fulfilled; what T's constructor throws.
  template <class... Args>
  void set_value(Args&&... args) {
    if (!checked().set_value(std::forward<Args>(args)...)) already_satisfied();
  }
  /// Fulfils the promise with an exception (same wake-ups as set_value).
  /// Throws: std::logic_error when already fulfilled.
  void set_exception(std::exception_ptr e) {
    if (!checked().set_exception(std::move(e))) already_satisfied();
  }

  bool valid() const noexcept { return state_ != nullptr; }

 private:
  [[noreturn]] static void already_satisfied() {
    throw std::logic_error("brigade::promise: already satisfied");
  }
  detail::future_state<T>& checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::promise: moved-from promise");
    return *state_;
  }
  void reset() noexcept {
    if (state_ == nullptr) return;
    state_->abandon();
    std::exchange(state_, nullptr)->release();
  }

  detail::future_state<T>* state_;
};

/// The consuming side of a promise: await it in a task, block on it from a
/// plain thread, or attach a continuation. Its result is taken once. Move
/// only.
///
/// A future destroyed while holding an exception nobody observed reports it
/// to the unobserved-error handler (set_unobserved_error_handler).
/// Thread safety: one future is used by one task or thread at a time; it may
/// be fulfilled concurrently from any thread.
template <class T>
class [[nodiscard]] future {
 public:
  using value_type = T;

  future() noexcept = default;
  future(future&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  future& operator=(future&& other) noexcept {
    if (this != &other) {
      reset();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  future(const future&) = delete;
  future& operator=(const future&) = delete;
  ~future() { reset(); }

  /// True while the future holds a state (not moved from, not consumed).
  bool valid() const noexcept { return state_ != nullptr; }
  /// True once the promise was fulfilled (value, exception or broken). Any thread.
  bool is_ready() const noexcept { return state_ != nullptr && state_->is_ready(); }

  class awaiter;

  /// `co_await f`: the value (moved out: the future is then consumed).
  ///
  /// Resumes on: a worker of the awaiting task's runtime, after the thread
  /// that fulfilled the promise woke it.
  /// Cancellation: cancellable (total): an aborted awaiter withdraws and
  /// throws brigade::cancelled; the value, when it comes, stays in the
  /// future (await it again, get() it, or then() it).
  /// Throws: the stored exception; brigade::broken_promise;
  /// brigade::cancelled; std::logic_error outside a spawned task or on an
  /// invalid future.
  awaiter operator co_await() & { return awaiter{*this}; }
  awaiter operator co_await() && { return awaiter{*this}; }

  /// Blocks the calling plain thread until ready and returns the value
  /// (consumes the future).
  /// Throws: the stored exception; brigade::broken_promise;
  /// std::logic_error when not ready and called on a thread that drives a
  /// runtime (blocking a worker could deadlock: co_await instead).
  T get() {
    wait();
    return take();
  }
  /// Blocks until ready (plain threads; see get()).
  void wait() const {
    if (checked().is_ready()) return;
    forbid_blocking_on_runtime();
    state_->wait();
  }
  /// Blocks until ready or `timeout` elapsed; returns is_ready().
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    if (checked().is_ready()) return true;
    forbid_blocking_on_runtime();
    return state_->wait_until(std::chrono::steady_clock::now() +
                              std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }

  /// Attaches a continuation and consumes this future. `f` runs inline on
  /// the thread that fulfils the promise, or right here if the future is
  /// already ready. Keep it short and non-blocking: it runs inside
  /// set_value (on a worker, if a task fulfils the promise).
  ///
  /// `f` takes either the value (`f(T)`, `f()` for void): then a stored
  /// exception skips `f` and goes to the returned future; or the ready
  /// future itself (`f(brigade::future<T>)`, get() it for the value or the
  /// exception). Returns a future of f's result (exceptions thrown by `f`
  /// land there too). Dropping that future unobserved reports its error.
  /// Throws: std::logic_error on an invalid future.
  /// Example: f.then([](int v) { std::printf("%d\n", v); });
  template <class F>
  auto then(F f);

  /// As then(f), but `f` runs as a task spawned on `rt` (a worker of that
  /// runtime, not the fulfilling thread). `f` may return a task<X>, which is
  /// awaited: the returned future is then a future<X>. If the runtime shut
  /// down, the returned future throws brigade::cancelled or broken_promise.
  /// Example: f.then(rt.handle(), [](int v) -> brigade::task<int> { co_return v + 1; });
  template <class F>
  auto then(runtime_handle rt, F f);

  /// For brigade internals.
  explicit future(detail::future_state<T>* adopted) noexcept : state_(adopted) {}

 private:
  friend class awaiter;

  static void forbid_blocking_on_runtime() {
    if (detail::current_scheduler() != nullptr) {
      throw std::logic_error(
          "brigade::future: blocking get()/wait() on a runtime thread (co_await it instead)");
    }
  }
  detail::future_state<T>& checked() const {
    if (state_ == nullptr) throw std::logic_error("brigade::future: invalid (consumed or empty)");
    return *state_;
  }
  T take() {
    detail::future_state<T>* s = &checked();
    struct releaser {
      future& f;
      ~releaser() { f.reset(); }
    } done{*this};
    return s->take();
  }
  detail::future_state<T>* release_state() noexcept { return std::exchange(state_, nullptr); }
  void reset() noexcept {
    if (state_ == nullptr) return;
    state_->drop_consumer();
    std::exchange(state_, nullptr)->release();
  }

  detail::future_state<T>* state_ = nullptr;
};

template <class T>
class future<T>::awaiter {
 public:
  explicit awaiter(future& f) : owner_(f), state_(&f.checked()) {}
  awaiter(const awaiter&) = delete;
  awaiter& operator=(const awaiter&) = delete;
  ~awaiter() {
    // Only reached registered when the frame is destroyed while parked
    // (runtime shutdown).
    if (waiter_.task != nullptr) state_->withdraw_waiter(&waiter_);
  }

  bool await_ready() {
    detail::task_header* me = detail::current_task();
    if (me == nullptr) throw std::logic_error("brigade::future awaited outside a spawned task");
    if (me->is_cancelled()) {
      waiter_.withdrawn = true;
      return true;
    }
    if (!state_->is_ready()) return false;
    if (detail::consume_budget()) return true;
    yield_once_ = true;  // ready, but the turn's budget is spent: yield first
    return false;
  }

  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::task_header* me = detail::current_task();
    if (yield_once_) {
      me->resume_ = reinterpret_cast<std::uintptr_t>(awaiting.address());
      me->wake_by_ref();
      return true;
    }
    detail::set_wait(me, detail::wait_kind::future, state_);
    waiter_.poll = &poll;
    waiter_.handle = awaiting;
    waiter_.state = state_;
    waiter_.task = me;
    me->resume_ = reinterpret_cast<std::uintptr_t>(static_cast<detail::wait_node*>(&waiter_)) | 1u;
    return state_->register_waiter(&waiter_);
  }

  T await_resume() {
    waiter_.task = nullptr;  // not registered any more: the destructor has nothing to do
    if (waiter_.withdrawn) throw cancelled{};
    return owner_.take();
  }

 private:
  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    return detail::future_state_base::poll_waiter(
        static_cast<detail::future_state_base::waiter*>(node), cancel);
  }

  future& owner_;
  detail::future_state<T>* state_;
  detail::future_state_base::waiter waiter_{};
  bool yield_once_ = false;
};

template <class T>
future<T> promise<T>::get_future() {
  if (!checked().claim_consumer()) {
    throw std::logic_error("brigade::promise: future already retrieved");
  }
  state_->add_ref();  // see future_state_base: the future's reference
  return future<T>{state_};
}

}  // namespace brigade

// then(): needs promise and future complete.
#include <brigade/detail/future_then.hpp>

namespace brigade {

/// Wraps a future into a task, so it composes with when_all / when_any:
/// `auto [a, b] = co_await brigade::when_all(as_task(std::move(f1)), as_task(std::move(f2)));`
/// Cancellation: cancellable (as co_await on the future; the value is
/// then lost with the task's frame, and an exception is reported).
template <class T>
task<T> as_task(future<T> f) {
  co_return co_await f;
}

namespace detail {

template <class X>
inline constexpr bool is_future_v = false;
template <class T>
inline constexpr bool is_future_v<future<T>> = true;

/// A when_all / when_any argument as a task: tasks as they are, futures
/// through as_task. Both are consumed (moved from, even as lvalues).
template <class Arg>
auto to_child_task(Arg&& arg) {
  using A = std::remove_cvref_t<Arg>;
  if constexpr (is_future_v<A>) {
    return as_task(A(std::move(arg)));
  } else {
    return A(std::move(arg));
  }
}

}  // namespace detail

/// when_all over tasks and futures mixed (at least one future): each future
/// is awaited as a child task (see when.hpp for the semantics).
template <class... Args>
requires(sizeof...(Args) > 0 &&
         ((detail::is_task_v<std::remove_cvref_t<Args>> ||
           detail::is_future_v<std::remove_cvref_t<Args>>)&&...) &&
         (detail::is_future_v<std::remove_cvref_t<Args>> || ...)) auto when_all(Args&&... args) {
  return when_all(detail::to_child_task(std::forward<Args>(args))...);
}

/// when_any over tasks and futures mixed (at least one future).
template <class... Args>
requires(sizeof...(Args) > 0 &&
         ((detail::is_task_v<std::remove_cvref_t<Args>> ||
           detail::is_future_v<std::remove_cvref_t<Args>>)&&...) &&
         (detail::is_future_v<std::remove_cvref_t<Args>> || ...)) auto when_any(Args&&... args) {
  return when_any(detail::to_child_task(std::forward<Args>(args))...);
}

/// when_all over a vector of futures.
template <class T>
auto when_all(std::vector<future<T>> futures) {
  std::vector<task<T>> tasks;
  tasks.reserve(futures.size());
  for (auto& f : futures) tasks.push_back(as_task(std::move(f)));
  return when_all(std::move(tasks));
}

/// when_any over a vector of futures.
template <class T>
auto when_any(std::vector<future<T>> futures) {
  std::vector<task<T>> tasks;
  tasks.reserve(futures.size());
  for (auto& f : futures) tasks.push_back(as_task(std::move(f)));
  return when_any(std::move(tasks));
}

}  // namespace brigade
