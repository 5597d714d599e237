// Driver tasks of a task_graph run (protocol: include/brigade/graph/task_graph.hpp,
// shared state: graph_run.hpp).

#include "graph/graph_run.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/spawn.hpp>

#include <chrono>

namespace brigade::detail {

namespace {

bool is_cancellation(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const cancelled&) {
    return true;
  } catch (...) {
    return false;
  }
}

/// Ready nodes a driver keeps for itself: intrusive (next_ready_), so that
/// handling a ready node never allocates and so never fails.
class ready_list {
 public:
  void push(graph_node_base* n, graph_node_base*& link) noexcept {
    link = head_;
    head_ = n;
  }
  bool empty() const noexcept { return head_ == nullptr; }
  graph_node_base* head_ = nullptr;
};

}  // namespace

bool graph_run::should_skip(const graph_node_base* node) const noexcept {
  // relaxed: poisoned_ is published by the acq_rel decrement of pending_
  // that made the node ready; stop_ is a hint (see graph_run.hpp).
  return node->poisoned_.load(memory_order_relaxed) || stop_.load(memory_order_relaxed);
}

void graph_run::fail(graph_node_base* node, std::exception_ptr error) noexcept {
  // acq_rel: one winner; first_* are read after drivers_ is done.
  if (!failed_.exchange(true, memory_order_acq_rel)) {
    first_failed_ = node;
    first_error_ = std::move(error);
  }
  if (policy == failure_policy::cancel_all) stop_all(current_task());
}

void graph_run::link(driver_entry& e) noexcept {
  std::lock_guard lock(mutex_);
  e.prev = nullptr;
  e.next = running_;
  if (running_ != nullptr) running_->prev = &e;
  running_ = &e;
}

void graph_run::unlink(driver_entry& e) noexcept {
  std::lock_guard lock(mutex_);
  if (e.prev != nullptr) {
    e.prev->next = e.next;
  } else {
    running_ = e.next;
  }
  if (e.next != nullptr) e.next->prev = e.prev;
}

void graph_run::stop_all(task_header* except) noexcept {
  // relaxed: a hint read before each node starts (graph_run.hpp).
  stop_.store(true, memory_order_relaxed);
  std::lock_guard lock(mutex_);
  for (driver_entry* e = running_; e != nullptr; e = e->next) {
    if (e->task != except) e->task->abort();  // linked: alive (graph_run.hpp)
  }
}

void graph_run::cancel_hook(void* self) noexcept {
  static_cast<graph_run*>(self)->stop_all(nullptr);
}

bool graph_run::spawn_driver(graph_node_base* start) noexcept {
  try {
    task<> t = drive(this, start);  // the only step that can fail (allocation)
    drivers_.add(1);
    scheduler* sched = current_scheduler();
    task_header* h = task_header::from_frame(t.release().address());
    // Detached: the run learns about the driver through drivers_.
    prepare_spawn(h, *sched, {}, source_location::current(), join_kind::detached);
    sched->spawn(h);
    return true;
  } catch (...) {
    return false;
  }
}

task<> graph_run::drive(graph_run* run, graph_node_base* start) {
  driver_entry self{current_task()};
  run->link(self);
  const bool timed = run->graph.timing_ == timing_mode::recorded;
  ready_list mine;
  graph_node_base* cur = start;
  while (cur != nullptr) {
    if (run->should_skip(cur)) {
      cur->status_ = node_status::cancelled;
    } else {
      if (timed) cur->times_.start = std::chrono::steady_clock::now();
      std::exception_ptr error;
      if (cur->is_async()) {
        try {
          task<> work = cur->execute_async();
          co_await std::move(work);
        } catch (...) {
          error = std::current_exception();
        }
      } else {
        try {
          cur->execute();
        } catch (...) {
          error = std::current_exception();
        }
      }
      if (timed) cur->times_.end = std::chrono::steady_clock::now();
      if (!error) {
        cur->status_ = node_status::succeeded;
      } else if (self.task->is_cancelled() && is_cancellation(error)) {
        cur->status_ = node_status::cancelled;  // the run stopped it, not a failure
      } else {
        cur->status_ = node_status::failed;
        cur->error_ = error;
        run->fail(cur, std::move(error));
      }
    }
    // Step 2/3: release the successors; keep one ready node, spawn the rest.
    const bool poison = cur->status_ != node_status::succeeded;
    graph_node_base* next = nullptr;
    for (graph_node_base* s : cur->successors_) {
      // relaxed: published by the acq_rel decrement right after.
      if (poison) s->poisoned_.store(true, memory_order_relaxed);
      // acq_rel: release publishes cur's result (and the poison) to the
      // thread that takes pending_ to zero, which acquires it.
      if (s->pending_.fetch_sub(1, memory_order_acq_rel) != 1) continue;
      if (run->should_skip(s)) {
        mine.push(s, s->next_ready_);  // cheap to cancel here: no task
      } else if (next == nullptr) {
        next = s;
      } else if (!run->spawn_driver(s)) {
        mine.push(s, s->next_ready_);  // could not spawn: run it here
      }
    }
    if (next == nullptr && !mine.empty()) {
      next = mine.head_;
      mine.head_ = next->next_ready_;
    }
    cur = next;
    if (cur != nullptr && !run->should_skip(cur)) {
      // A long chain in one driver must not starve the worker's other tasks.
      try {
        co_await brigade::consume_budget();
      } catch (const cancelled&) {
        // The run was cancelled (stop_ is set): the loop cancels the rest.
      }
    }
  }
  run->unlink(self);
  run->drivers_.arrive();  // last touch of *run
}

}  // namespace brigade::detail
