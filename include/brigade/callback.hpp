#pragma once
// The callback bridge, both ways:
//   - from_callback<T>(fn): a callback API becomes an awaitable;
//   - on_complete(handle, cb): a task becomes a callback.
//
//   int v = co_await brigade::from_callback<int>([](auto resolve) {
//     legacy_async_read(fd, [resolve](int n) { resolve(n); });
//   });
//
// from_callback is built on promise/future (future.hpp): resolve fulfils the
// promise, the task awaits the future.

#include <brigade/cancelled.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/future.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/task.hpp>

#include <exception>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace brigade {

/// The callable that from_callback hands to the callback API. Copyable
/// (copies share one promise), callable from any thread, exactly once in
/// total across copies:
///   resolve(value)               (resolve() for T = void)
///   resolve(std::exception_ptr)  the awaiting task throws it
/// A second call is a bug in the callback API or its glue: it is ignored and
/// reported to the unobserved-error handler (set_unobserved_error_handler;
/// default: stderr) with a std::logic_error, and the call returns false; it
/// never throws into the (possibly C) caller. If every copy is destroyed
/// without a call, the awaiting task throws brigade::broken_promise.
/// Thread safety: any thread; concurrent calls race safely (one wins).
template <class T>
class resolver {
 public:
  explicit resolver(promise<T> p) : shared_(std::make_shared<shared>(std::move(p))) {}

  /// Delivers the value (or, for T = void, completion). Returns false when
  /// it was a second call (reported, ignored).
  template <class... Args>
  requires(!(sizeof...(Args) == 1 &&
             (std::is_same_v<std::remove_cvref_t<Args>, std::exception_ptr> && ...))) bool
  operator()(Args&&... args) const {
    if (!claim()) return false;
    try {
      shared_->p.set_value(std::forward<Args>(args)...);
    } catch (...) {
      shared_->p.set_exception(std::current_exception());  // T's constructor threw
    }
    return true;
  }
  /// Delivers an exception. Returns false when it was a second call.
  bool operator()(std::exception_ptr error) const {
    if (!claim()) return false;
    shared_->p.set_exception(std::move(error));
    return true;
  }

 private:
  struct shared {
    explicit shared(promise<T> pr) : p(std::move(pr)) {}
    promise<T> p;
    detail::atomic<bool> resolved{false};
  };

  bool claim() const {
    // acq_rel: the winner's exchange orders its set_* after every earlier
    // use of the shared promise; a loser's only reads the flag.
    if (!shared_->resolved.exchange(true, detail::memory_order_acq_rel)) return true;
    detail::report_unobserved_error(
        std::make_exception_ptr(std::logic_error("brigade::from_callback: resolve called twice")),
        "from_callback resolve called more than once (ignored)");
    return false;
  }

  std::shared_ptr<shared> shared_;
};

/// Turns a callback API into an awaitable: returns a task<T> that, when
/// awaited, calls `fn(resolve)` on the awaiting thread and then waits for
/// resolve to be called (from any thread; see resolver).
///
/// Resumes on: a worker of the awaiting task's runtime (inline, without
/// suspending, if resolve was called inside fn).
/// Cancellation: cancellable (total): an aborted task stops waiting at once
/// and throws brigade::cancelled; a later resolve is then harmless (its
/// value is dropped; an exception is reported as unobserved). Cancelling
/// the underlying operation is the callback API's business: pair it with a
/// cancellation_callback if it can.
/// Throws: what fn throws; the exception passed to resolve;
/// brigade::broken_promise if resolve is destroyed uncalled.
/// GCC 12: if `fn` captures non-trivially destructible objects by value,
/// create the task in its own statement before co_await-ing it (a compiler
/// bug destroys such temporaries twice; docs/pitfalls.md section 7).
/// Example: see the header comment.
template <class T, class Fn>
task<T> from_callback(Fn fn) {
  promise<T> p;
  future<T> f = p.get_future();
  fn(resolver<T>{std::move(p)});
  co_return co_await f;
}

namespace detail {

/// The completion listener behind on_complete: one allocation per call. It
/// owns the join_handle, so the task's result stays readable until
/// delivered.
template <class T, class Callback>
class on_complete_listener {
 public:
  on_complete_listener(join_handle<T> handle, Callback cb)
      : handle_(std::move(handle)), cb_(std::move(cb)) {
    listener_.on_complete = &fire;
    listener_.owner = this;
  }
  task_header* task() const noexcept { return handle_.header(); }
  std::uintptr_t joiner() noexcept {
    return reinterpret_cast<std::uintptr_t>(static_cast<completion_listener*>(&listener_)) | 1u;
  }

  /// Delivers the outcome of the completed task and frees everything.
  void deliver() noexcept {
    std::exception_ptr error;
    try {
      if constexpr (std::is_void_v<T>) {
        handle_.take_result();
        invoke_value();
      } else {
        invoke_value(handle_.take_result());
      }
    } catch (...) {
      error = std::current_exception();  // the task's failure (or cancelled)
    }
    if (error) {
      try {
        cb_(error);
      } catch (...) {
        report_unobserved_error(std::current_exception(), "on_complete callback threw");
      }
    }
    delete this;  // the handle drops its join interest (observed)
  }

 private:
  template <class... V>
  void invoke_value(V&&... v) noexcept {
    try {
      cb_(std::forward<V>(v)...);
    } catch (...) {
      // The task succeeded; the callback failed: not the task's error.
      report_unobserved_error(std::current_exception(), "on_complete callback threw");
    }
  }

  static void fire(completion_listener* l, task_header*) noexcept {
    static_cast<owned_listener*>(l)->owner->deliver();
  }

  struct owned_listener : completion_listener {
    on_complete_listener* owner = nullptr;
  };

  owned_listener listener_;
  join_handle<T> handle_;
  Callback cb_;
};

}  // namespace detail

/// Turns a task into a callback: consumes `handle` and calls `cb` once with
/// the task's outcome: `cb(value)` (`cb()` for void) on success,
/// `cb(std::exception_ptr)` on failure or cancellation (brigade::cancelled,
/// also when runtime shutdown destroys the task). Give an overloaded or
/// generic callable.
///
/// Runs on: the worker that completes the task (or inline on this thread if
/// it already completed). Keep it short: it runs inside the completion.
/// Exceptions thrown by `cb` go to the unobserved-error handler.
/// Thread safety: any thread.
/// Throws: std::logic_error for an empty handle.
/// Example:
///   brigade::on_complete(brigade::spawn(fetch()), brigade::overloaded{
///       [](int v) { use(v); }, [](std::exception_ptr e) { log(e); }});
template <class T, class Callback>
void on_complete(join_handle<T> handle, Callback cb) {
  if (!handle.valid()) throw std::logic_error("brigade::on_complete: empty join_handle");
  auto* l = new detail::on_complete_listener<T, Callback>(std::move(handle), std::move(cb));
  if (!l->task()->set_join_waker(l->joiner())) l->deliver();  // already complete
}

/// Builds an overload set from lambdas, for on_complete callbacks.
template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace brigade
