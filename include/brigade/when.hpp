#pragma once
// Combinators: wait for every task (when_all) or the first (when_any).
//
// The tasks run as children of the awaiting task: each is spawned on the
// current runtime (concurrently; in parallel on multi_thread), and no child
// outlives the co_await: losers and siblings of a failure are cancelled and
// awaited before the result is returned.

#include <brigade/detail/child_group.hpp>
#include <brigade/task.hpp>

#include <array>
#include <brigade/source_location.hpp>
#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace brigade {

namespace detail {

/// task<void> results are std::monostate in tuples and variants.
template <class T>
using result_slot_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class Task>
struct task_value;
template <class T>
struct task_value<task<T>> {
  using type = T;
};
template <class Task>
using task_value_t = typename task_value<std::remove_cvref_t<Task>>::type;

template <class X>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

template <class T>
result_slot_t<T> take_slot(child_group& g, std::size_t i) {
  if constexpr (std::is_void_v<T>) {
    g.take<void>(i);
    return {};
  } else {
    return g.take<T>(i);
  }
}

inline scheduler& scheduler_for_children() {
  scheduler* s = current_scheduler();
  if (s == nullptr) throw_outside_runtime("brigade::when_all/when_any");
  return *s;
}

template <class... T, std::size_t... I>
task<std::tuple<result_slot_t<T>...>> when_all_impl(std::index_sequence<I...>, task<T>... tasks) {
  std::array<child_slot, sizeof...(T)> slots{};
  child_group group(child_group::mode::all, slots);
  scheduler& sched = scheduler_for_children();
  const auto loc = source_location::current();
  (group.prepare(I, tasks, sched, loc), ...);
  co_await group.wait();
  if (const std::size_t failed = group.decided(); failed != child_group::none) {
    group.observe(failed);
    std::rethrow_exception(group.take_exception_of(failed));
  }
  co_return std::tuple<result_slot_t<T>...>{take_slot<T>(group, I)...};
}

template <class T>
task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all_vector(
    std::vector<task<T>> tasks) {
  std::vector<child_slot> slots(tasks.size());
  child_group group(child_group::mode::all, slots);
  scheduler& sched = scheduler_for_children();
  const auto loc = source_location::current();
  for (std::size_t i = 0; i < tasks.size(); ++i) group.prepare(i, tasks[i], sched, loc);
  co_await group.wait();
  if (const std::size_t failed = group.decided(); failed != child_group::none) {
    group.observe(failed);
    std::rethrow_exception(group.take_exception_of(failed));
  }
  if constexpr (std::is_void_v<T>) {
    for (std::size_t i = 0; i < slots.size(); ++i) group.take<void>(i);
  } else {
    std::vector<T> out;
    out.reserve(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) out.push_back(group.take<T>(i));
    co_return out;
  }
}

}  // namespace detail

/// What when_any returns: which task finished first, and its result.
template <class V>
struct when_any_result {
  std::size_t index;  ///< position of the winner in the argument list
  V value;            ///< its value (std::monostate for task<void>)
};

/// Runs every task concurrently and waits for all of them.
///
/// Returns a task yielding a std::tuple of the results in argument order
/// (std::monostate for task<void>). The tasks are consumed (moved from, even
/// when passed as lvalues). When one fails, the others are cancelled, every
/// child is awaited, and the first failure is rethrown; a second failure
/// other than brigade::cancelled goes to the unhandled-exception hook.
///
/// Resumes on: the worker that completes the last child (on current_thread,
/// the runtime's thread).
/// Cancellation: cancellable; cancelling the awaiting task cancels every
/// child, waits for all of them to unwind, then throws brigade::cancelled.
/// Throws: the first child failure; std::logic_error outside a runtime.
/// Example: auto [a, b] = co_await brigade::when_all(fetch(1), fetch(2));
template <class... Tasks>
requires(sizeof...(Tasks) > 0 &&
         (detail::is_task_v<std::remove_cvref_t<Tasks>> && ...)) auto when_all(Tasks&&... tasks) {
  return detail::when_all_impl(std::index_sequence_for<Tasks...>{},
                               task<detail::task_value_t<Tasks>>(std::move(tasks))...);
}

/// when_all over a vector: a task yielding std::vector<T> in input order
/// (task<void> for void tasks). An empty vector completes at once.
template <class T>
auto when_all(std::vector<task<T>> tasks) {
  return detail::when_all_vector<T>(std::move(tasks));
}

namespace detail {

template <class... T>
struct any_value {
  using type = std::variant<result_slot_t<T>...>;
};
template <class T, class... Rest>
requires(std::is_same_v<T, Rest>&&...) struct any_value<T, Rest...> {
  using type = result_slot_t<T>;
};

template <class V, class T, std::size_t I>
V make_any_value(child_group& g, std::size_t index) {
  if constexpr (std::is_same_v<V, result_slot_t<T>>) {
    return take_slot<T>(g, index);
  } else {
    return V{std::in_place_index<I>, take_slot<T>(g, index)};
  }
}

template <class V, class... T, std::size_t... I>
V take_winner(child_group& g, std::size_t index, std::index_sequence<I...>) {
  std::optional<V> out;
  ((index == I ? (void)(out.emplace(make_any_value<V, T, I>(g, index))) : (void)0), ...);
  return std::move(*out);
}

template <class V, class... T, std::size_t... I>
task<when_any_result<V>> when_any_impl(std::index_sequence<I...> seq, task<T>... tasks) {
  std::array<child_slot, sizeof...(T)> slots{};
  child_group group(child_group::mode::any, slots);
  scheduler& sched = scheduler_for_children();
  const auto loc = source_location::current();
  (group.prepare(I, tasks, sched, loc), ...);
  co_await group.wait();
  const std::size_t winner = group.decided();
  co_return when_any_result<V>{winner, take_winner<V, T...>(group, winner, seq)};
}

template <class T>
task<when_any_result<result_slot_t<T>>> when_any_vector(std::vector<task<T>> tasks) {
  if (tasks.empty()) throw std::invalid_argument("brigade::when_any: no tasks");
  std::vector<child_slot> slots(tasks.size());
  child_group group(child_group::mode::any, slots);
  scheduler& sched = scheduler_for_children();
  const auto loc = source_location::current();
  for (std::size_t i = 0; i < tasks.size(); ++i) group.prepare(i, tasks[i], sched, loc);
  co_await group.wait();
  const std::size_t winner = group.decided();
  co_return when_any_result<result_slot_t<T>>{winner, take_slot<T>(group, winner)};
}

}  // namespace detail

/// Runs every task concurrently; the first to complete wins.
///
/// The losers are cancelled and awaited before this returns (no task
/// outlives the call). The result holds the winner's index and value: a T
/// when every task is task<T> (std::monostate for void), else a std::variant
/// indexed like the arguments. If the winner failed, its exception is
/// rethrown. Start order is randomised from the seeded source (BRIGADE_SEED).
/// A loser that completes before it notices its cancellation (it was
/// running, not suspended) has its value destroyed: racing two operations
/// that each consume data (two reads) can drop what the loser consumed.
/// timeout() and try_timeout() keep such a value instead.
///
/// Resumes on: the worker that completes the last child.
/// Cancellation: cancellable, as when_all.
/// Throws: the winner's exception; std::logic_error outside a runtime.
/// Example: auto r = co_await brigade::when_any(fast(), slow()); // r.index == 0
template <class... Tasks>
requires(sizeof...(Tasks) > 0 &&
         (detail::is_task_v<std::remove_cvref_t<Tasks>> && ...)) auto when_any(Tasks&&... tasks) {
  using V = typename detail::any_value<detail::task_value_t<Tasks>...>::type;
  return detail::when_any_impl<V>(std::index_sequence_for<Tasks...>{},
                                  task<detail::task_value_t<Tasks>>(std::move(tasks))...);
}

/// when_any over a vector of tasks of one type. Throws std::invalid_argument
/// (when awaited) for an empty vector.
template <class T>
auto when_any(std::vector<task<T>> tasks) {
  return detail::when_any_vector<T>(std::move(tasks));
}

}  // namespace brigade
