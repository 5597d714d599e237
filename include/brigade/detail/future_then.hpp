#pragma once
// The machinery behind future<T>::then (included by future.hpp once promise
// and future are complete; not meant to be included on its own).
//
// then(f) stores a continuation in the shared state (one allocation). It runs
// exactly once, on the thread that fulfils the promise, or inline in then()
// when the future is already ready (future_state_base::publish /
// set_continuation). It owns the promise of the returned future, so every
// outcome of f (a value, an exception, f never called because the source
// failed) lands there.

#include <brigade/future.hpp>

#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

namespace brigade {

namespace detail {

template <class F, class T>
struct then_result {
  using type = std::invoke_result_t<F&, T>;
};
template <class F>
struct then_result<F, void> {
  using type = std::invoke_result_t<F&>;
};

template <class F, class T>
inline constexpr bool takes_value_v = std::is_invocable_v<F&, T>;
template <class F>
inline constexpr bool takes_value_v<F, void> = std::is_invocable_v<F&>;

/// f takes the ready future (try style) only when it cannot take the value:
/// a generic lambda is always given the value.
template <class F, class T>
inline constexpr bool takes_future_v = !takes_value_v<F, T> && std::is_invocable_v<F&, future<T>>;

template <class X>
inline constexpr bool is_brigade_task_v = false;
template <class X>
inline constexpr bool is_brigade_task_v<task<X>> = true;

template <class X>
struct unwrap_task {
  using type = X;
};
template <class X>
struct unwrap_task<task<X>> {
  using type = X;
};

}  // namespace detail

namespace detail {

/// Feeds f's outcome into `p` (value, void, or the exception f threw).
template <class R, class F, class... Args>
void fulfil_with(promise<R>& p, F& f, Args&&... args) noexcept {
  try {
    if constexpr (std::is_void_v<R>) {
      std::invoke(f, std::forward<Args>(args)...);
      p.set_value();
    } else {
      p.set_value(std::invoke(f, std::forward<Args>(args)...));
    }
  } catch (...) {
    p.set_exception(std::current_exception());
  }
}

template <class T, class F, class R>
class then_inline final : public continuation {
 public:
  then_inline(F f, promise<R> p) : f_(std::move(f)), p_(std::move(p)) {}
  void run(future_state_base& base) noexcept override {
    auto& s = static_cast<future_state<T>&>(base);
    if constexpr (takes_future_v<F, T>) {
      s.add_ref();  // the ready future handed to f owns one reference
      fulfil_with<R>(p_, f_, future<T>{&s});
    } else if (std::exception_ptr e = s.take_error()) {
      p_.set_exception(std::move(e));  // f never sees the value: forward
    } else if constexpr (std::is_void_v<T>) {
      fulfil_with<R>(p_, f_);
    } else {
      fulfil_with<R>(p_, f_, s.take());
    }
  }

 private:
  F f_;
  promise<R> p_;
};

// GCC 12 flags the frame of this coroutine when F is a lambda local to a
// function (-Wsubobject-linkage, a false positive for coroutine frames).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsubobject-linkage"
#endif
template <class T, class F, class R>
task<void> run_then_task(F f, future<T> ready, promise<R> p) {
  try {
    if constexpr (takes_future_v<F, T>) {
      using X = std::invoke_result_t<F&, future<T>>;
      if constexpr (is_brigade_task_v<X> && std::is_void_v<R>) {
        co_await std::invoke(f, std::move(ready));
        p.set_value();
      } else if constexpr (is_brigade_task_v<X>) {
        p.set_value(co_await std::invoke(f, std::move(ready)));
      } else {
        fulfil_with<R>(p, f, std::move(ready));
      }
    } else if constexpr (std::is_void_v<T>) {
      co_await ready;
      using X = std::invoke_result_t<F&>;
      if constexpr (is_brigade_task_v<X> && std::is_void_v<R>) {
        co_await std::invoke(f);
        p.set_value();
      } else if constexpr (is_brigade_task_v<X>) {
        p.set_value(co_await std::invoke(f));
      } else {
        fulfil_with<R>(p, f);
      }
    } else {
      T v = co_await ready;
      using X = std::invoke_result_t<F&, T>;
      if constexpr (is_brigade_task_v<X> && std::is_void_v<R>) {
        co_await std::invoke(f, std::move(v));
        p.set_value();
      } else if constexpr (is_brigade_task_v<X>) {
        p.set_value(co_await std::invoke(f, std::move(v)));
      } else {
        fulfil_with<R>(p, f, std::move(v));
      }
    }
  } catch (...) {
    p.set_exception(std::current_exception());
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

template <class T, class F, class R>
class then_on_runtime final : public continuation {
 public:
  then_on_runtime(runtime_handle rt, F f, promise<R> p)
      : rt_(std::move(rt)), f_(std::move(f)), p_(std::move(p)) {}
  void run(future_state_base& base) noexcept override {
    auto& s = static_cast<future_state<T>&>(base);
    s.add_ref();  // the ready future handed to the task owns one reference
    try {
      rt_.spawn(run_then_task<T, F, R>(std::move(f_), future<T>{&s}, std::move(p_)), "then")
          .detach();
    } catch (...) {
      // Spawning failed (an empty handle): the task frame, and with it the
      // promise, is gone: its future reports broken_promise.
    }
  }

 private:
  runtime_handle rt_;
  F f_;
  promise<R> p_;
};

}  // namespace detail

template <class T>
template <class F>
auto future<T>::then(F f) {
  using R =
      typename std::conditional_t<detail::takes_future_v<F, T>, std::invoke_result<F&, future<T>>,
                                  detail::then_result<F, T>>::type;
  detail::future_state<T>* s = &checked();
  promise<R> p;
  future<R> out = p.get_future();
  auto* c = new detail::then_inline<T, F, R>(std::move(f), std::move(p));
  release_state();  // our reference now belongs to the continuation
  s->set_continuation(c);
  return out;
}

template <class T>
template <class F>
auto future<T>::then(runtime_handle rt, F f) {
  using X =
      typename std::conditional_t<detail::takes_future_v<F, T>, std::invoke_result<F&, future<T>>,
                                  detail::then_result<F, T>>::type;
  using R = typename detail::unwrap_task<X>::type;
  detail::future_state<T>* s = &checked();
  promise<R> p;
  future<R> out = p.get_future();
  auto* c = new detail::then_on_runtime<T, F, R>(std::move(rt), std::move(f), std::move(p));
  release_state();
  s->set_continuation(c);
  return out;
}

}  // namespace brigade
