#pragma once
// brigade::graph_node<T>: a typed handle to one node of a task_graph, and the
// node machinery task_graph's templates need (detail::graph_node_base and the
// typed node holding the function and its result).
//
// A node's life within one run (task_graph.hpp has the whole protocol):
//   reset -> waiting for pending_ predecessors -> running -> succeeded |
//   failed | cancelled. Results live in the node until the next run resets
//   them, so dependents and graph_node::get() read them by reference.

#include <brigade/cancelled.hpp>
#include <brigade/detail/atomic.hpp>
#include <brigade/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace brigade {

/// What happened to a node in the last run of its graph.
enum class node_status : std::uint8_t {
  not_run,    ///< the graph has not run since the node was added or reset
  succeeded,  ///< the function returned; get() has the value
  failed,     ///< the function threw; get() rethrows
  cancelled,  ///< not run: a predecessor failed, or the run stopped or was cancelled
};

/// When a node ran in the last run (steady_clock; equal when it did not run).
struct node_times {
  std::chrono::steady_clock::time_point start{};
  std::chrono::steady_clock::time_point end{};
};

class task_graph;

namespace detail {

class graph_core;
struct graph_run;

/// The untyped part of a node: links, counters, status, timing.
/// Written by the thread that runs the node; read by others only after the
/// run completed (the run's completion orders every node's writes before it).
class graph_node_base {
 public:
  graph_node_base(graph_core* owner, std::string name) : owner_(owner), name_(std::move(name)) {}
  graph_node_base(const graph_node_base&) = delete;
  graph_node_base& operator=(const graph_node_base&) = delete;
  virtual ~graph_node_base() = default;

  /// The node's function returns a task (it may suspend): run with execute_async.
  virtual bool is_async() const noexcept = 0;
  /// Calls the function with the predecessors' results; stores the result.
  virtual void execute() = 0;
  virtual task<> execute_async() = 0;
  /// Drops the previous run's result.
  virtual void reset_result() noexcept = 0;

  const std::string& name() const noexcept { return name_; }
  graph_core* owner() const noexcept { return owner_; }
  node_status status() const noexcept { return status_; }
  node_times times() const noexcept { return times_; }
  std::size_t index() const noexcept { return index_; }
  const std::vector<graph_node_base*>& successors() const noexcept { return successors_; }

  /// The result checks shared by every graph_node<T>::get().
  void check_result() const {
    switch (status_) {
      case node_status::succeeded:
        return;
      case node_status::failed:
        std::rethrow_exception(error_);
      case node_status::cancelled:
        throw cancelled{};
      case node_status::not_run:
        break;
    }
    throw std::logic_error("brigade::graph_node '" + name_ +
                           "' has no result: run its graph first");
  }

 private:
  friend class graph_core;
  friend struct graph_run;
  friend class brigade::task_graph;

  graph_core* owner_;
  std::string name_;
  std::size_t index_ = 0;
  std::vector<graph_node_base*> successors_;
  std::uint32_t predecessors_ = 0;
  /// Predecessors not finished in this run; the one that takes it to zero
  /// schedules the node. acq_rel decrements order the predecessors' results
  /// (and poisoned_) before the node runs.
  atomic<std::uint32_t> pending_{0};
  /// A predecessor failed or was cancelled: do not run, cancel successors.
  atomic<bool> poisoned_{false};
  /// Link in a driver's list of ready nodes it will handle itself (a node
  /// becomes ready once per run, so one link suffices).
  graph_node_base* next_ready_ = nullptr;
  node_status status_ = node_status::not_run;
  std::exception_ptr error_;
  node_times times_{};
};

template <class T>
using node_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// What a node's function returns: T, or task<T> for a coroutine node.
template <class R>
struct node_result {
  using type = R;
  static constexpr bool is_async = false;
};
template <class T>
struct node_result<task<T>> {
  using type = T;
  static constexpr bool is_async = true;
};

template <class T>
class value_node;
}  // namespace detail
template <class T>
class graph_inputs;
namespace detail {

/// The dependencies' results as function arguments: const T& each, void
/// results contribute no argument (an ordering-only dependency).
template <class... D>
auto dependency_args(const std::tuple<value_node<D>*...>& deps) {
  return std::apply(
      [](auto*... node) {
        return std::tuple_cat([](auto* n) {
          using V = typename std::remove_pointer_t<decltype(n)>::value_type;
          if constexpr (std::is_void_v<V>) {
            return std::tuple<>{};
          } else {
            return std::tuple<const V&>{n->value()};
          }
        }(node)...);
      },
      deps);
}

/// A node producing a T.
template <class T>
class value_node : public graph_node_base {
 public:
  using value_type = T;
  using graph_node_base::graph_node_base;

  /// Only after the node succeeded.
  const node_value_t<T>& value() const noexcept { return *value_; }
  void reset_result() noexcept override { value_.reset(); }

 protected:
  std::optional<node_value_t<T>> value_;
};

/// A node with its function F and its dependencies D...
template <class T, class F, class... D>
class function_node final : public value_node<T> {
 public:
  function_node(graph_core* owner, std::string name, F f, value_node<D>*... deps)
      : value_node<T>(owner, std::move(name)), f_(std::move(f)), deps_(deps...) {}

  bool is_async() const noexcept override { return node_result<call_result>::is_async; }

  void execute() override {
    if constexpr (!node_result<call_result>::is_async) {
      auto args = dependency_args<D...>(deps_);
      if constexpr (std::is_void_v<T>) {
        std::apply(f_, args);
        this->value_.emplace();
      } else {
        this->value_.emplace(std::apply(f_, args));
      }
    }
  }

  task<> execute_async() override {
    if constexpr (node_result<call_result>::is_async) {
      auto args = dependency_args<D...>(deps_);
      // The function (a coroutine, or a function returning a task) is
      // called here; its task is awaited at once, while f_ and the
      // predecessors' results are alive. (Named, not a temporary of the
      // co_await expression: see docs/guide/cpu-bound-work.md, g++ 12.)
      call_result work = std::apply(f_, args);
      if constexpr (std::is_void_v<T>) {
        co_await std::move(work);
        this->value_.emplace();
      } else {
        this->value_.emplace(co_await std::move(work));
      }
    }
    co_return;
  }

 private:
  using call_result = decltype(std::apply(
      std::declval<F&>(),
      dependency_args<D...>(std::declval<const std::tuple<value_node<D>*...>&>())));
  F f_;
  std::tuple<value_node<D>*...> deps_;
};

template <class F, class D>
struct gather_result {
  using type = std::invoke_result_t<F&, graph_inputs<D>>;
};
template <class F>
struct gather_result<F, void> {
  using type = std::invoke_result_t<F&>;
};

/// A node whose function receives a run-time list of same-typed inputs
/// (task_graph::add with a std::vector of dependencies).
template <class T, class F, class D>
class gather_node final : public value_node<T> {
 public:
  gather_node(graph_core* owner, std::string name, F f, std::vector<value_node<D>*> deps)
      : value_node<T>(owner, std::move(name)), f_(std::move(f)), deps_(std::move(deps)) {}

  bool is_async() const noexcept override { return node_result<call_result>::is_async; }

  void execute() override {
    if constexpr (!node_result<call_result>::is_async) {
      if constexpr (std::is_void_v<T>) {
        call();
        this->value_.emplace();
      } else {
        this->value_.emplace(call());
      }
    }
  }

  task<> execute_async() override {
    if constexpr (node_result<call_result>::is_async) {
      call_result work = call();  // named: see function_node::execute_async
      if constexpr (std::is_void_v<T>) {
        co_await std::move(work);
        this->value_.emplace();
      } else {
        this->value_.emplace(co_await std::move(work));
      }
    }
    co_return;
  }

 private:
  decltype(auto) call() {
    if constexpr (std::is_void_v<D>) {
      return f_();
    } else {
      return f_(graph_inputs<D>{deps_});
    }
  }
  using call_result = typename gather_result<F, D>::type;

  F f_;
  std::vector<value_node<D>*> deps_;
};

}  // namespace detail

/// The results of a run-time list of dependencies, in the order given to
/// task_graph::add: a read-only range of `const T&`. Valid during the call.
template <class T>
class graph_inputs {
 public:
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() noexcept = default;
    explicit iterator(detail::value_node<T>* const* p) noexcept : p_(p) {}
    const T& operator*() const noexcept { return (*p_)->value(); }
    iterator& operator++() noexcept {
      ++p_;
      return *this;
    }
    iterator operator++(int) noexcept { return iterator{p_++}; }
    bool operator==(const iterator&) const noexcept = default;

   private:
    detail::value_node<T>* const* p_ = nullptr;
  };

  explicit graph_inputs(const std::vector<detail::value_node<T>*>& deps) noexcept : deps_(deps) {}
  iterator begin() const noexcept { return iterator{deps_.data()}; }
  iterator end() const noexcept { return iterator{deps_.data() + deps_.size()}; }
  std::size_t size() const noexcept { return deps_.size(); }
  const T& operator[](std::size_t i) const noexcept { return deps_[i]->value(); }

 private:
  const std::vector<detail::value_node<T>*>& deps_;
};

/// A typed handle to a node of a task_graph, returned by task_graph::add and
/// passed to later add() calls as a dependency. Cheap to copy; valid as long
/// as its graph.
///
/// Thread safety: get(), status() and times() read what the last run wrote:
/// call them when no run of the graph is in progress.
template <class T>
class graph_node {
 public:
  using value_type = T;

  graph_node() noexcept = default;

  /// The node's result from the last run.
  /// Throws: the node's exception if it failed; brigade::cancelled if it did
  /// not run (a predecessor failed, or the run was cancelled);
  /// std::logic_error before the graph ran, or on an empty handle.
  const detail::node_value_t<T>& get() const requires(!std::is_void_v<T>) {
    checked().check_result();
    return node_->value();
  }
  /// For a void node: returns when it succeeded, else throws as above.
  void get() const requires std::is_void_v<T> { checked().check_result(); }

  node_status status() const { return checked().status(); }
  node_times times() const { return checked().times(); }
  const std::string& name() const { return checked().name(); }
  bool valid() const noexcept { return node_ != nullptr; }

  /// For task_graph.
  detail::value_node<T>* node() const noexcept { return node_; }
  explicit graph_node(detail::value_node<T>* n) noexcept : node_(n) {}

 private:
  const detail::value_node<T>& checked() const {
    if (node_ == nullptr) throw std::logic_error("brigade::graph_node is empty");
    return *node_;
  }

  detail::value_node<T>* node_ = nullptr;
};

}  // namespace brigade
