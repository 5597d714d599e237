#pragma once
// Structured concurrency: brigade::task_group, a set of child tasks that do
// not outlive their parent's join.
//
//   brigade::task_group<int> g;
//   for (int id : ids) g.spawn(fetch(id));
//   std::vector<int> all = co_await g.join_all();      // or, one at a time:
//   while (auto v = co_await g.join_next()) use(*v);
//
// How "no child outlives its group" holds (docs/guide/cancellation.md):
//   - join_all / join_next wait for the children; if the parent is aborted
//     while it waits, every child is aborted and the await still waits for
//     all of them to finish before it throws brigade::cancelled.
//   - a group destroyed while children run (an exception between spawn and
//     join, an early co_return) cannot co_await in its destructor, which
//     never blocks a thread: it aborts the running children and detaches
//     them; each unwinds at its next cancellable await, on its own. In a
//     debug build (!NDEBUG or BRIGADE_DEBUG) it prints a diagnostic to
//     stderr. To make the parent wait in that case too, use
//     brigade::with_task_group, which joins on every path.
// The machinery is in detail/task_group_state.hpp.

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/spawned_result.hpp>
#include <brigade/detail/task_group_state.hpp>
#include <brigade/task.hpp>

#include <brigade/source_location.hpp>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace brigade {

namespace detail {
[[noreturn]] void throw_outside_runtime(const char* what);

template <class T>
using group_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
}  // namespace detail

/// A group of child tasks producing T (void allowed), spawned on the current
/// runtime and joined by the task that owns the group.
///
/// Results: join_all() returns every result in spawn order, or the first
/// failure; join_next() returns results in completion order. The error
/// policy (constructor) decides whether the first failure aborts the
/// siblings (on_error::cancel_siblings, the default) or lets them finish
/// (on_error::keep_going); either way the first failure is rethrown and
/// later failures go to the runtime's unhandled-exception hook.
///
/// Dropping: a group destroyed with running children aborts and detaches
/// them (see the header comment; a debug build prints a diagnostic). Move
/// only.
///
/// Thread safety: spawn, abort_all and size may be called from any task of
/// the runtime (a child may spawn siblings through a reference); only one
/// task may be in join_all/join_next at a time (std::logic_error otherwise).
template <class T = void>
class task_group {
 public:
  using value_type = detail::group_value_t<T>;

  explicit task_group(on_error policy = on_error::cancel_siblings)
      : state_(detail::task_group_state::create(policy)) {}
  task_group(task_group&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  task_group& operator=(task_group&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group() { drop(); }

  /// Starts `t` as a child (concurrently; in parallel on multi_thread). If
  /// the group is failing (cancel_siblings after a failure) or its joiner
  /// was aborted, the child is aborted before it runs.
  /// Throws: std::logic_error outside a runtime; std::invalid_argument for an
  /// empty task or a moved-from group.
  void spawn(task<T> t, std::string name = {},
             source_location location = source_location::current()) {
    detail::scheduler* sched = detail::current_scheduler();
    if (sched == nullptr) detail::throw_outside_runtime("brigade::task_group::spawn");
    if (!t.valid()) throw std::invalid_argument("brigade::task_group::spawn: empty task");
    checked().spawn(detail::task_header::from_frame(t.release().address()), *sched, name, location);
  }

  /// Children not yet joined (running, or finished and not taken).
  std::size_t size() const noexcept { return state_ != nullptr ? state_->size() : 0; }
  /// Children still running.
  std::size_t running() const noexcept { return state_ != nullptr ? state_->running() : 0; }

  /// Aborts every running child: each throws brigade::cancelled at its next
  /// cancellable await. Join afterwards to wait for them. Any thread.
  void abort_all() noexcept {
    if (state_ != nullptr) state_->abort_all();
  }

  /// Waits for every child and returns their results in spawn order
  /// (std::vector<T>; nothing for task_group<void>). The group is then empty
  /// and reusable.
  ///
  /// Resumes on: the worker that completed the last child.
  /// Cancellation: cancellable, structured: if the joining task is aborted,
  /// every child is aborted and awaited, then brigade::cancelled is thrown.
  /// Throws: the first child failure (in completion order); else
  /// brigade::cancelled if a child ended cancelled (abort_all, or siblings
  /// of a failure); std::logic_error outside a task or on a second joiner.
  /// Example: auto sizes = co_await g.join_all();
  auto join_all() -> task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> {
    detail::task_group_state& g = checked();
    const bool parent_cancelled =
        co_await detail::task_group_state::wait_awaiter{g, detail::task_group_state::want::all};
    detail::group_child* failure = nullptr;
    detail::group_child* head = g.take_all(failure);
    if (parent_cancelled) {
      drop_list(head, nullptr);  // a failure nobody will see goes to the hook
      throw cancelled{};
    }
    if (failure != nullptr) {
      // Moved out: only this thread owns the exception from here on.
      const std::exception_ptr error = std::exchange(failure->task->exception_, nullptr);
      drop_list(head, failure);
      std::rethrow_exception(error);
    }
    bool any_cancelled = false;
    for (detail::group_child* c = head; c != nullptr; c = c->next) {
      any_cancelled = any_cancelled || c->ended_cancelled();
    }
    if (any_cancelled) {
      drop_list(head, nullptr);
      throw cancelled{};
    }
    if constexpr (std::is_void_v<T>) {
      drop_list(head, nullptr, true);
    } else {
      std::vector<T> out;
      std::exception_ptr error;
      for (detail::group_child* c = head; c != nullptr; c = c->next) {
        try {
          out.push_back(take(c));
        } catch (...) {
          if (!error) error = std::current_exception();
        }
      }
      drop_list(head, nullptr, true);
      if (error) std::rethrow_exception(error);
      co_return out;
    }
  }

  /// Waits for the next child to finish and returns its result; std::nullopt
  /// when no child is left. Children that ended cancelled are skipped.
  ///
  /// Resumes on: the worker that completed that child.
  /// Cancellation: cancellable, structured (as join_all: every child is
  /// aborted and awaited before brigade::cancelled is thrown).
  /// Throws: that child's failure; std::logic_error as join_all.
  /// Example: while (auto v = co_await g.join_next()) total += *v;
  task<std::optional<value_type>> join_next() {
    detail::task_group_state& g = checked();
    for (;;) {
      const bool parent_cancelled =
          co_await detail::task_group_state::wait_awaiter{g, detail::task_group_state::want::one};
      if (parent_cancelled) throw cancelled{};
      detail::group_child* c = g.pop_finished();
      if (c == nullptr) co_return std::nullopt;  // no child left
      if (c->ended_cancelled()) {
        detail::task_group_state::drop(c, true);
        continue;
      }
      struct dropper {
        detail::group_child* c;
        ~dropper() { detail::task_group_state::drop(c, true); }
      } guard{c};
      if constexpr (std::is_void_v<T>) {
        take(c);
        co_return value_type{};
      } else {
        co_return take(c);
      }
    }
  }

  /// Aborts every child and waits until all finished, discarding results
  /// (failures other than brigade::cancelled go to the unhandled-exception
  /// hook). For cleanup paths; with_task_group uses it.
  ///
  /// Resumes on: the worker that completed the last child.
  /// Cancellation: none: it always waits for the children and never throws
  /// brigade::cancelled itself.
  task<void> abort_and_join() {
    detail::task_group_state& g = checked();
    g.abort_all();
    co_await detail::task_group_state::wait_awaiter{g, detail::task_group_state::want::all};
    detail::group_child* failure = nullptr;
    drop_list(g.take_all(failure), nullptr);
  }

 private:
  detail::task_group_state& checked() const {
    if (state_ == nullptr) throw std::invalid_argument("brigade::task_group: moved-from group");
    return *state_;
  }

  static decltype(auto) take(detail::group_child* c) {
    return detail::take_spawned_result<T>(c->task);
  }

  /// Drops a taken list; `observed` marks outcomes already delivered.
  static void drop_list(detail::group_child* head, detail::group_child* rethrown,
                        bool observed = false) noexcept {
    while (head != nullptr) {
      detail::group_child* next = head->next;
      detail::task_group_state::drop(head, observed || head == rethrown);
      head = next;
    }
  }

  void drop() noexcept {
    if (state_ == nullptr) return;
    const std::size_t running = state_->close();
#if !defined(NDEBUG) || defined(BRIGADE_DEBUG)
    // Runtime shutdown destroys frames with no task running: not a misuse.
    if (running != 0 && detail::current_task() != nullptr) {
      std::fprintf(stderr,
                   "brigade: task_group dropped with %zu running children; they were aborted "
                   "and detached (join the group, or use brigade::with_task_group)\n",
                   running);
    }
#else
    (void)running;
#endif
    std::exchange(state_, nullptr)->release();
  }

  detail::task_group_state* state_;
};

/// Runs `body(group)` and then joins the group on every path: after a normal
/// return the children are awaited (join_all semantics are up to the body;
/// whatever it left is awaited and its failures rethrown); if the body
/// throws, every child is aborted and awaited before the exception
/// propagates. The parent therefore never continues while a child runs.
///
/// `body` is a callable taking task_group<T>& and returning task<R>; the
/// group lives in this coroutine's frame.
/// Resumes on: the worker that completed the last child.
/// Cancellation: cancellable, structured (as join_all).
/// Throws: the body's exception, else the first child failure.
/// Example:
///   int n = co_await brigade::with_task_group<int>([&](auto& g) -> brigade::task<int> {
///     g.spawn(a()); g.spawn(b()); co_return 2; });
template <class T, class Body>
auto with_task_group(Body body, on_error policy = on_error::cancel_siblings)
    -> task<typename std::invoke_result_t<Body&, task_group<T>&>::value_type> {
  using R = typename std::invoke_result_t<Body&, task_group<T>&>::value_type;
  task_group<T> group{policy};
  std::exception_ptr error;
  std::optional<detail::group_value_t<R>> result;
  try {
    if constexpr (std::is_void_v<R>) {
      co_await body(group);
      result.emplace();
    } else {
      result.emplace(co_await body(group));
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    co_await group.abort_and_join();
    std::rethrow_exception(error);
  }
  if (group.size() != 0) co_await group.join_all();
  if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

}  // namespace brigade
