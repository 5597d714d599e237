// task_graph: building the DAG, starting and finishing runs, Graphviz output.
// Drivers (the per-run machinery) are in graph_run.cpp.

#include "graph/graph_run.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/graph/task_graph.hpp>

#include <algorithm>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace brigade {

namespace {

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

/// Graphviz double-quoted string contents.
std::string dot_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

/// Clears graph_core::running_ when a run ends, however it ends.
class running_guard {
 public:
  explicit running_guard(detail::graph_core& g) noexcept : g_(g) {}
  running_guard(const running_guard&) = delete;
  running_guard& operator=(const running_guard&) = delete;
  ~running_guard() {
    // release: the run's writes (results) happen before the next run/add.
    g_.running_.store(false, detail::memory_order_release);
  }

 private:
  detail::graph_core& g_;
};

}  // namespace

graph_error::graph_error(std::string node, const std::string& what)
    : std::runtime_error(what), node_(std::move(node)) {}

namespace detail {

void graph_core::insert(std::unique_ptr<graph_node_base> node,
                        std::span<graph_node_base* const> deps) {
  // acquire: pairs with the release in running_guard.
  if (running_.load(memory_order_acquire)) {
    throw std::logic_error("brigade::task_graph::add during a run");
  }
  for (graph_node_base* d : deps) {
    if (d == nullptr) throw std::invalid_argument("brigade::task_graph::add: empty dependency");
    if (d->owner_ != this) {
      throw std::invalid_argument("brigade::task_graph::add: dependency '" + d->name_ +
                                  "' belongs to another graph");
    }
  }
  if (nodes_.size() == nodes_.capacity())
    nodes_.reserve(std::max<std::size_t>(16, 2 * nodes_.size()));
  std::size_t linked = 0;
  try {
    for (graph_node_base* d : deps) {
      d->successors_.push_back(node.get());
      ++linked;
    }
  } catch (...) {
    for (graph_node_base* d : deps) {  // undo: the graph stays as it was
      if (linked-- == 0) break;
      d->successors_.pop_back();
    }
    throw;
  }
  node->index_ = nodes_.size();
  node->predecessors_ = static_cast<std::uint32_t>(deps.size());
  nodes_.push_back(std::move(node));  // reserved: cannot throw
}

}  // namespace detail

task_graph::task_graph() : core_(std::make_unique<detail::graph_core>()) {}
task_graph::task_graph(task_graph&& other) noexcept = default;
task_graph& task_graph::operator=(task_graph&& other) noexcept = default;
task_graph::~task_graph() = default;

task<> task_graph::run(failure_policy policy) {
  if (detail::current_task() == nullptr) {
    throw std::logic_error("brigade::task_graph::run awaited outside a spawned task");
  }
  detail::graph_core& g = *core_;
  // acq_rel: one run at a time; acquire sees the previous run's writes.
  if (g.running_.exchange(true, detail::memory_order_acq_rel)) {
    throw std::logic_error("brigade::task_graph::run: the graph is already running");
  }
  running_guard guard{g};
  // Step 1: reset. Plain writes: the spawns below publish them.
  for (auto& n : g.nodes_) {
    n->pending_.store(n->predecessors_, detail::memory_order_relaxed);
    n->poisoned_.store(false, detail::memory_order_relaxed);
    n->status_ = node_status::not_run;
    n->error_ = nullptr;
    n->times_ = {};
    n->next_ready_ = nullptr;
    n->reset_result();
  }
  if (g.nodes_.empty()) co_return;

  detail::graph_run run{g, policy};
  for (auto& n : g.nodes_) {
    if (n->predecessors_ != 0 || run.spawn_driver(n.get())) continue;
    // Out of memory: report the root as failed; what depends on it stays
    // not_run (nothing decrements it), the rest completes.
    n->status_ = node_status::failed;
    n->error_ = std::make_exception_ptr(std::bad_alloc{});
    run.fail(n.get(), n->error_);
  }
  detail::work_count::wait_awaiter waiting =
      run.drivers_.wait(&detail::graph_run::cancel_hook, &run);
  co_await waiting;

  if (run.failed_.load(detail::memory_order_acquire)) {
    const std::string name = run.first_failed_->name();
    const std::string what = describe(run.first_error_);
    try {
      std::rethrow_exception(run.first_error_);
    } catch (...) {
      throw graph_error(name, "brigade::task_graph: node '" + name + "' failed: " + what);
    }
  }
  if (waiting.cancel_requested()) throw cancelled{};
}

void task_graph::run_blocking(runtime& rt, failure_policy policy) {
  // Checked before block_on: it would spawn the run before refusing, and
  // the run would go on, detached, on a graph the caller may then destroy.
  if (detail::current_scheduler() != nullptr) {
    throw std::logic_error(
        "brigade::task_graph::run_blocking called from a thread that drives a runtime "
        "(inside a task, co_await run() instead)");
  }
  rt.block_on(run(policy));
}

std::string task_graph::to_dot() const {
  std::string out = "digraph task_graph {\n";
  for (const auto& n : core_->nodes_) {
    out += "  n" + std::to_string(n->index()) + " [label=\"" + dot_escape(n->name()) + "\"";
    if (n->status() == node_status::failed) out += ", color=red, fontcolor=red";
    if (n->status() == node_status::cancelled) out += ", style=dashed, color=grey";
    out += "];\n";
  }
  for (const auto& n : core_->nodes_) {
    for (const detail::graph_node_base* s : n->successors()) {
      out += "  n" + std::to_string(n->index()) + " -> n" + std::to_string(s->index()) + ";\n";
    }
  }
  out += "}\n";
  return out;
}

std::vector<node_timing> task_graph::timings() const {
  std::vector<node_timing> out;
  out.reserve(core_->nodes_.size());
  for (const auto& n : core_->nodes_)
    out.push_back(node_timing{n->name(), n->status(), n->times()});
  return out;
}

}  // namespace brigade
