#pragma once
// timeout, try_timeout: bound the time an operation may take.

#include <brigade/task.hpp>
#include <brigade/time/clock.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/when.hpp>

#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace brigade {

/// Thrown by timeout() when the operation did not finish in time.
class timed_out : public std::runtime_error {
 public:
  timed_out() : std::runtime_error("brigade: operation timed out") {}
};

namespace detail {

inline task<> sleep_task(duration d) { co_await sleep(d); }

template <class Awaitable>
auto as_task(Awaitable a) -> task<decltype(std::declval<Awaitable&>().await_resume())> {
  co_return co_await std::move(a);
}

template <class T>
task<T> to_task(task<T> t) {
  return t;
}
template <class Awaitable>
requires(!is_task_v<std::remove_cvref_t<Awaitable>>) auto to_task(Awaitable&& a) {
  return as_task(std::forward<Awaitable>(a));
}

template <class T>
task<std::optional<result_slot_t<T>>> try_timeout_impl(duration d, task<T> t) {
  auto r = co_await when_any(std::move(t), sleep_task(d));
  if (r.index == 1) co_return std::nullopt;
  if constexpr (std::is_void_v<T>) {
    // Both sides are task<void>: when_any's value is a plain monostate.
    co_return std::optional<result_slot_t<T>>{std::in_place};
  } else {
    co_return std::optional<result_slot_t<T>>{std::move(std::get<0>(r.value))};
  }
}

template <class T>
task<T> timeout_impl(duration d, task<T> t) {
  auto r = co_await when_any(std::move(t), sleep_task(d));
  if (r.index == 1) throw timed_out{};
  if constexpr (!std::is_void_v<T>) co_return std::move(std::get<0>(r.value));
}

}  // namespace detail

/// Runs `op` (a task, or any movable awaitable, which is moved into a task)
/// with a time limit. If `d` passes first, `op` is cancelled, awaited until it has
/// unwound, and timed_out is thrown.
///
/// Resumes on: the worker that completes the operation or fires the timer.
/// Cancellation: cancellable; cancelling the awaiting task cancels `op`,
/// waits for it, and throws brigade::cancelled.
/// Throws: timed_out; whatever `op` throws.
/// Example: auto v = co_await brigade::timeout(50ms, fetch());
template <class Op>
auto timeout(duration d, Op&& op) {
  return detail::timeout_impl(d, detail::to_task(std::forward<Op>(op)));
}

/// As timeout(), but a timeout is a value: std::nullopt instead of
/// timed_out (the result type is std::optional<T>, with std::monostate for
/// task<void>).
template <class Op>
auto try_timeout(duration d, Op&& op) {
  return detail::try_timeout_impl(d, detail::to_task(std::forward<Op>(op)));
}

}  // namespace brigade
