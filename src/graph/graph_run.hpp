#pragma once
// One run of a task_graph: the state shared by its driver tasks, in the
// frame of task_graph::run (the protocol is at the top of task_graph.hpp).
//
// Who touches what
//   drivers_      every driver arrives once when it exits (work_count.hpp);
//                 run() waits for all of them.
//   stop_         set by the first failure (cancel_all) or a cancellation;
//                 read by drivers before starting a node. A hint: a node
//                 that misses it just runs, as if it had started earlier.
//   failed_, first_failed_, first_error_
//                 the first failure wins the exchange on failed_ and writes
//                 the other two; run() reads them after drivers_ is done.
//   running_      the drivers alive now (an intrusive list under mutex_),
//                 so that a cancellation can abort their tasks: a driver
//                 links itself when it starts and unlinks before it arrives,
//                 so every header in the list is alive while the lock is held.

#include "parallel/work_count.hpp"

#include <brigade/graph/task_graph.hpp>

#include <exception>
#include <mutex>

namespace brigade::detail {

struct graph_run {
  /// A driver task's entry in running_ (lives in the driver's frame).
  struct driver_entry {
    task_header* task = nullptr;
    driver_entry* prev = nullptr;
    driver_entry* next = nullptr;
  };

  graph_run(graph_core& g, failure_policy on_failure) noexcept : graph(g), policy(on_failure) {}
  graph_run(const graph_run&) = delete;
  graph_run& operator=(const graph_run&) = delete;

  /// Spawns a driver for `start` on the current runtime. Returns false when
  /// it could not be spawned (out of memory): the caller runs it itself.
  bool spawn_driver(graph_node_base* start) noexcept;

  /// Runs `start` and every node that becomes ready through it, one at a
  /// time, spawning drivers for the other ready nodes (step 2).
  static task<> drive(graph_run* run, graph_node_base* start);

  /// Runs one node (or marks it cancelled) and records its outcome.
  task<> run_node(graph_node_base* node);
  bool should_skip(const graph_node_base* node) const noexcept;
  void fail(graph_node_base* node, std::exception_ptr error) noexcept;

  void link(driver_entry& e) noexcept;
  void unlink(driver_entry& e) noexcept;
  /// Stops the run and aborts every running driver but `except`.
  void stop_all(task_header* except) noexcept;
  static void cancel_hook(void* self) noexcept;

  graph_core& graph;
  const failure_policy policy;
  work_count drivers_;
  atomic<bool> stop_{false};
  atomic<bool> failed_{false};
  graph_node_base* first_failed_ = nullptr;
  std::exception_ptr first_error_;
  std::mutex mutex_;
  driver_entry* running_ = nullptr;  // guarded by mutex_
};

}  // namespace brigade::detail
