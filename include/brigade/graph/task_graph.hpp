#pragma once
// brigade::task_graph: a DAG of dependent work on the runtime's workers
// (DESIGN §5). Nodes are plain functions or coroutines; each receives its
// dependencies' results.
//
// How a run proceeds
//   1. run() resets every node: pending_ = number of predecessors, no
//      result, status not_run. Nodes without predecessors are spawned, each
//      as a "driver" task on the current runtime.
//   2. A driver runs its node (a coroutine node is awaited: it may sleep or
//      do I/O, freeing the worker). Then, for each successor, it decrements
//      pending_ (acq_rel: the node's result is visible to whoever runs the
//      successor); the successors that reach zero are ready. The driver
//      continues with one of them itself and spawns a driver for each of the
//      others. Why: a chain runs in one task, with no queue hop and no
//      recursion (100,000-node chains need no stack), and a fan-out spreads
//      over every worker through the run queues and work stealing.
//   3. A node that fails marks its successors poisoned_ before decrementing
//      them; a poisoned node does not run (status cancelled) and poisons its
//      own successors in turn. With failure_policy::cancel_all (the default)
//      the first failure also stops the whole run: no further node starts,
//      and running coroutine nodes are cancelled at their next suspension.
//      With finish_independent, nodes that do not depend on the failure
//      still run.
//   4. Each driver counts as one item of the run's work_count; the run
//      completes when the last driver exits. It never returns while a driver
//      runs (structured), so node functions may refer to the awaiting frame.
//
// Threads: node functions run on any worker, concurrently when independent.
// A node's result is written once per run by its driver and read by its
// successors (after the pending_ handshake) and by graph_node::get() after
// the run completed.

#include <brigade/detail/atomic.hpp>
#include <brigade/graph/graph_node.hpp>
#include <brigade/runtime.hpp>
#include <brigade/task.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace brigade {

/// Thrown by task_graph::run when a node failed: names the node and nests
/// the node's exception (std::rethrow_if_nested(e), or cause()).
class graph_error : public std::runtime_error, public std::nested_exception {
 public:
  /// Construct inside a catch handler: the exception being handled is nested.
  graph_error(std::string node, const std::string& what);
  /// The name of the node that failed first.
  const std::string& node() const noexcept { return node_; }
  /// The node's own exception.
  std::exception_ptr cause() const noexcept { return nested_ptr(); }

 private:
  std::string node_;
};

/// What a run does after a node failed.
enum class failure_policy : std::uint8_t {
  /// Stop the run: nodes not started yet do not start, running coroutine
  /// nodes are cancelled at their next suspension.
  cancel_all,
  /// Only the failed node's dependents are cancelled; the rest runs.
  finish_independent,
};

/// Whether runs record per-node start/end times (two clock reads per node).
enum class timing_mode : std::uint8_t { recorded, not_recorded };

/// One node's outcome in the last run (task_graph::timings()).
struct node_timing {
  std::string name;
  node_status status = node_status::not_run;
  node_times times;
};

namespace detail {

/// The graph's nodes and links; owned by task_graph through a pointer, so
/// node handles and nodes stay put when the graph is moved.
class graph_core {
 public:
  /// Takes `node` with its dependencies; sets links and counters.
  /// Throws: std::invalid_argument for a dependency from another graph or an
  /// empty handle; std::logic_error while a run is in progress.
  void insert(std::unique_ptr<graph_node_base> node, std::span<graph_node_base* const> deps);

  std::vector<std::unique_ptr<graph_node_base>> nodes_;
  atomic<bool> running_{false};
  timing_mode timing_ = timing_mode::recorded;
};

/// The arguments a node function receives from dependencies D...
template <class... D>
using dependency_args_t =
    decltype(dependency_args<D...>(std::declval<const std::tuple<value_node<D>*...>&>()));

/// The value type of a node whose function is F with dependencies D...
template <class F, class... D>
using node_value_of_t = std::remove_cvref_t<typename node_result<decltype(std::apply(
    std::declval<F&>(), std::declval<dependency_args_t<D...>>()))>::type>;

/// The value type of a node whose function is F with a vector of D inputs.
template <class F, class D>
using gather_value_of_t =
    std::remove_cvref_t<typename node_result<typename gather_result<F, D>::type>::type>;

}  // namespace detail

/// A directed acyclic graph of work: add nodes with their dependencies, then
/// run it (as often as needed).
///
/// Thread safety: add(), run() and the accessors need exclusive access to
/// the graph (one run at a time; no add() during a run); node functions run
/// concurrently on the runtime's workers.
/// Example:
///   bg::task_graph g;
///   auto eggs  = g.add("eggs",  [] { return cook_eggs(); });
///   auto toast = g.add("toast", [] { return make_toast(); });
///   auto plate = g.add("plate", [](Eggs e, Toast t) { return serve(e, t); }, eggs, toast);
///   co_await g.run();
///   Plate p = plate.get();
class task_graph {
 public:
  task_graph();
  /// A moved-from graph may only be destroyed or assigned to.
  task_graph(task_graph&& other) noexcept;
  task_graph& operator=(task_graph&& other) noexcept;
  task_graph(const task_graph&) = delete;
  task_graph& operator=(const task_graph&) = delete;
  ~task_graph();

  /// Adds a node named `name` computing `fn(results of deps...)`.
  ///
  /// `fn` receives each dependency's result as a `const T&`, in order
  /// (graph_node<void> dependencies only order: they pass no argument). It
  /// may return a value, nothing, or a brigade::task<T> (a coroutine node:
  /// it may co_await I/O, timers, other tasks; the node's value is T). `fn`
  /// is stored in the node and called once per run. Dependencies must come
  /// from this graph, so the graph stays acyclic by construction.
  ///
  /// Throws: std::invalid_argument for a foreign or empty dependency;
  /// std::logic_error during a run.
  template <class F, class... D>
  auto add(std::string name, F fn, graph_node<D>... deps)
      -> graph_node<detail::node_value_of_t<F, D...>> {
    using T = detail::node_value_of_t<F, D...>;
    auto node = std::make_unique<detail::function_node<T, F, D...>>(core_.get(), std::move(name),
                                                                    std::move(fn), deps.node()...);
    detail::value_node<T>* raw = node.get();
    detail::graph_node_base* const links[] = {static_cast<detail::graph_node_base*>(deps.node())...,
                                              nullptr};
    core_->insert(std::move(node), std::span{links, sizeof...(D)});
    return graph_node<T>{raw};
  }

  /// Adds a node whose inputs are a run-time list of same-typed nodes (a
  /// fan-in of any width): `fn` receives a brigade::graph_inputs<D> (a range
  /// of `const D&`, in the order of `deps`), or no argument when D is void.
  /// Otherwise as the variadic add().
  template <class F, class D>
  auto add(std::string name, F fn, const std::vector<graph_node<D>>& deps)
      -> graph_node<detail::gather_value_of_t<F, D>> {
    using T = detail::gather_value_of_t<F, D>;
    std::vector<detail::value_node<D>*> inputs;
    std::vector<detail::graph_node_base*> links;
    inputs.reserve(deps.size());
    links.reserve(deps.size());
    for (const graph_node<D>& d : deps) {
      inputs.push_back(d.node());
      links.push_back(d.node());
    }
    auto node = std::make_unique<detail::gather_node<T, F, D>>(core_.get(), std::move(name),
                                                               std::move(fn), std::move(inputs));
    detail::value_node<T>* raw = node.get();
    core_->insert(std::move(node), links);
    return graph_node<T>{raw};
  }

  /// Runs every node, each as soon as its dependencies are done, on the
  /// current runtime's workers; completes when no node runs any more.
  /// Previous results are dropped first. The graph must outlive the run.
  ///
  /// Resumes on: the worker that finished the last node.
  /// Cancellation: partial: nodes not started are cancelled, running
  /// coroutine nodes are cancelled at their next suspension, plain function
  /// nodes finish; then the await throws brigade::cancelled.
  /// Throws: brigade::graph_error for the first node that failed (see
  /// failure_policy); std::logic_error outside a spawned task or when the
  /// graph is already running.
  /// Example: co_await g.run();
  task<> run(failure_policy policy = failure_policy::cancel_all);

  /// Runs the graph from a plain thread: rt.block_on(run(policy)).
  ///
  /// Resumes on: the calling thread.
  /// Cancellation: none.
  /// Throws: as run(); std::logic_error when called from a thread that
  /// drives a runtime (inside a task, co_await run() instead).
  void run_blocking(runtime& rt, failure_policy policy = failure_policy::cancel_all);

  /// Graphviz text: one vertex per node (labelled with its name; failed
  /// nodes red, cancelled nodes dashed grey after a run), one edge per
  /// dependency.
  std::string to_dot() const;

  /// Every node's name, status and start/end times in the last run, in the
  /// order the nodes were added (for tracing).
  std::vector<node_timing> timings() const;

  /// Turns per-node timing on (the default) or off for later runs.
  void set_timing(timing_mode mode) noexcept { core_->timing_ = mode; }

  std::size_t size() const noexcept { return core_->nodes_.size(); }

 private:
  std::unique_ptr<detail::graph_core> core_;
};

}  // namespace brigade
