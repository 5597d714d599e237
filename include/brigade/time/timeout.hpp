#pragma once
// timeout, try_timeout: bound the time an operation may take.

#include <brigade/detail/child_group.hpp>
#include <brigade/task.hpp>
#include <brigade/time/clock.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/when.hpp>

#include <array>
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

/// The operation against a timer: its result, or nullopt when the timer
/// won and the operation ended cancelled. The operation's own outcome wins
/// whenever it has one: it may finish between the timer's decision and
/// noticing its cancellation (a read that got its bytes), and dropping that
/// value would lose them (a completed operation is never reported as timed
/// out). A failure other than brigade::cancelled is rethrown either way.
template <class T>
task<std::optional<result_slot_t<T>>> try_timeout_impl(duration d, task<T> t) {
  std::array<child_slot, 2> slots{};
  child_group group(child_group::mode::any, slots);
  scheduler& sched = scheduler_for_children();
  const auto loc = source_location::current();
  task<> timer = sleep_task(d);
  group.prepare(0, t, sched, loc);
  group.prepare(1, timer, sched, loc);
  co_await group.wait();
  if (group.decided() == 0 || !group.ended_cancelled(0)) {
    co_return std::optional<result_slot_t<T>>{take_slot<T>(group, 0)};
  }
  co_return std::nullopt;
}

template <class T>
task<T> timeout_impl(duration d, task<T> t) {
  std::optional<result_slot_t<T>> r = co_await try_timeout_impl(d, std::move(t));
  if (!r) throw timed_out{};
  if constexpr (!std::is_void_v<T>) co_return std::move(*r);
}

}  // namespace detail

/// Runs `op` (a task, or any movable awaitable, which is moved into a task)
/// with a time limit. If `d` passes first, `op` is cancelled, awaited until it has
/// unwound, and timed_out is thrown. If `op` completes anyway (it finished
/// before it noticed the cancellation), its result is returned: a value is
/// never dropped (a read's bytes are not lost to a timeout).
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
