#include "runtime/scheduler/current_thread.hpp"

#include "runtime/blocking_pool.hpp"
#include "trace/tracer.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>

#include <stdexcept>

namespace brigade::detail {

namespace {
/// Every this many ticks the driver looks at the inject queue even when its
/// own queue is busy, so remote wake-ups are not starved (DESIGN §3).
constexpr std::uint64_t inject_interval = 61;

/// Sets the thread's scheduler for a scope and restores the previous one.
class driver_scope {
 public:
  explicit driver_scope(scheduler* s) noexcept : saved_(tl_context.sched) { tl_context.sched = s; }
  driver_scope(const driver_scope&) = delete;
  driver_scope& operator=(const driver_scope&) = delete;
  ~driver_scope() { tl_context.sched = saved_; }

 private:
  scheduler* saved_;
};
}  // namespace

current_thread_scheduler::current_thread_scheduler(runtime_options options)
    : scheduler(std::move(options)) {}

current_thread_scheduler::~current_thread_scheduler() { shutdown(); }

bool current_thread_scheduler::is_driver() const noexcept { return tl_context.sched == this; }

bool current_thread_scheduler::try_acquire_driving() noexcept {
  bool expected = false;
  // acquire: pairs with the release in release_driving(): the previous
  // driver's writes to local_/registry_ are visible.
  return driving_.compare_exchange_strong(expected, true, memory_order_acquire,
                                          memory_order_relaxed);
}

void current_thread_scheduler::release_driving() noexcept {
  driving_.store(false, memory_order_release);
  driving_.notify_all();
}

void current_thread_scheduler::schedule(task_header* task) noexcept {
  if (tracer_) trace_instant(trace_event::kind::wake, task);
  if (is_driver()) {
    local_.push_back(task);
    return;
  }
  if (inject_.push(task)) {
    unparks_.fetch_add(1, memory_order_relaxed);
    driver_->unpark();
  }
  // Refused: the scheduler shut down and destroys (or destroyed) the task.
}

void current_thread_scheduler::accept(task_header* task) {
  registry_.insert(task);
  bump(live_);
}

void current_thread_scheduler::refuse(task_header* task) noexcept {
  task->exception_ = std::make_exception_ptr(cancelled{});
  complete_task(task);
  task->release();  // the scheduler's reference
}

void current_thread_scheduler::spawn(task_header* task) noexcept {
  spawned_.fetch_add(1, memory_order_relaxed);
  if (tracer_) trace_instant(trace_event::kind::spawn, task);
  if (closed_.load(memory_order_acquire)) {
    refuse(task);
    return;
  }
  if (is_driver()) {
    try {
      accept(task);
    } catch (...) {  // registry growth failed: the task cannot be tracked
      refuse(task);
      return;
    }
    local_.push_back(task);
    return;
  }
  // not registered yet: the driver registers it when draining.
  if (inject_.push(task)) {
    driver_->unpark();
  } else {
    refuse(task);
  }
}

void current_thread_scheduler::drain_inject() noexcept {
  task_list incoming;
  inject_.take_all(incoming);
  while (task_header* t = incoming.pop_front()) {
    if (!task_registry::is_registered(t)) {
      try {
        accept(t);
      } catch (...) {
        refuse(t);
        continue;
      }
    }
    local_.push_back(t);
  }
}

task_header* current_thread_scheduler::next_task() noexcept {
  if (++tick_ % inject_interval == 0) {
    driver_->maintain();  // due timers and ready I/O, without blocking
    drain_inject();
  } else if (local_.empty()) {
    drain_inject();
  }
  return local_.pop_front();
}

void current_thread_scheduler::run(task_header* task) noexcept {
  bump(polls_);
  const std::uint64_t yields_before = tl_context.forced_yields;
  const std::int64_t t0 = tracer_ ? get_tracer_now() : 0;
  const run_result result = run_task(task);
  if (tracer_) {
    trace_span_of(task, t0, result == run_result::suspended ? tl_context.last_wait : 0);
  }
  if (tl_context.forced_yields != yields_before) {
    bump(forced_yields_, tl_context.forced_yields - yields_before);
  }
  switch (result) {
    case run_result::suspended:
      break;
    case run_result::requeue:
      local_.push_back(task);
      break;
    case run_result::completed:
      registry_.remove(task);
      live_.store(live_.load(memory_order_relaxed) - 1, memory_order_relaxed);
      task->release();
      break;
  }
}

void current_thread_scheduler::serve_requests() noexcept {
  if (!dump_requested_.load(memory_order_acquire)) return;
  std::string text = registry_.describe(clock_now());
  {
    std::lock_guard lock(dump_mutex_);
    dump_text_ = std::move(text);
    dump_ready_ = true;
    dump_requested_.store(false, memory_order_relaxed);
  }
  dump_cv_.notify_all();
}

void current_thread_scheduler::block_on(task_header* root) {
  if (tl_context.sched != nullptr) {
    throw std::logic_error(
        "brigade: block_on called from a thread that already drives a runtime "
        "(inside a task, co_await the task instead)");
  }
  if (!try_acquire_driving()) {
    throw std::logic_error(
        "brigade: block_on on a current_thread runtime that another thread is driving");
  }
  driver_scope scope(this);
  stalled_.store(false, memory_order_relaxed);
  if (tracer_) trace_lane("loop");
  while (!root->is_complete()) {
    if (shutdown_requested_.load(memory_order_acquire)) {
      destroy_all();
      break;
    }
    if (task_header* t = next_task()) {
      run(t);
      if ((tick_ & 63) == 0) serve_requests();
      continue;
    }
    serve_requests();
    bump(parks_);
    const std::int64_t p0 = tracer_ ? get_tracer_now() : 0;
    const driver::park_result parked = driver_->park(driver::runtime_state::idle);
    if (tracer_) trace_park(p0);
    if (parked == driver::park_result::stalled && local_.empty() && inject_.empty() &&
        !root->is_complete()) {
      report_stall();
      local_depth_.store(local_.size(), memory_order_relaxed);
      release_driving();
      throw_deadlock();
    }
  }
  local_depth_.store(local_.size(), memory_order_relaxed);
  if (tracer_) trace_flush();
  release_driving();
}

void current_thread_scheduler::destroy_all() noexcept {
  if (destroyed_) return;
  driver_scope scope(this);
  task_list pending;
  inject_.close(pending);
  while (task_header* t = pending.pop_front()) {
    if (!task_registry::is_registered(t)) {
      try {
        accept(t);
      } catch (...) {
        refuse(t);
      }
    }
  }
  while (!registry_.empty()) {
    task_header* t = registry_.back();
    destroy_task(t);
    registry_.remove(t);
    live_.store(live_.load(memory_order_relaxed) - 1, memory_order_relaxed);
    t->release();
  }
  local_ = task_list{};  // every task it held is destroyed
  blocking_->shutdown();
  destroyed_ = true;
}

void current_thread_scheduler::shutdown() noexcept {
  closed_.store(true, memory_order_release);
  shutdown_requested_.store(true, memory_order_release);
  if (is_driver()) return;  // called from a task: block_on finishes the job
  while (!try_acquire_driving()) {
    driver_->unpark();  // a block_on in progress sees the request and tears down
    driving_.wait(true, memory_order_acquire);
  }
  destroy_all();
  local_depth_.store(0, memory_order_relaxed);
  finish_trace();
  release_driving();
  // Answer a dump_tasks() that raced with the teardown.
  serve_requests();
}

runtime_metrics current_thread_scheduler::metrics() const noexcept {
  runtime_metrics m;
  m.workers = 1;
  m.live_tasks = live_.load(memory_order_relaxed);
  m.spawned = spawned_.load(memory_order_relaxed);
  m.polls = polls_.load(memory_order_relaxed);
  m.parks = parks_.load(memory_order_relaxed);
  m.unparks = unparks_.load(memory_order_relaxed);
  m.budget_forced_yields = forced_yields_.load(memory_order_relaxed);
  m.inject_queue_depth = inject_.size();
  m.local_queue_depth = is_driver() ? local_.size() : local_depth_.load(memory_order_relaxed);
  add_blocking_metrics(m);
  return m;
}

std::string current_thread_scheduler::dump_tasks() const {
  auto* self = const_cast<current_thread_scheduler*>(this);
  if (is_driver()) return registry_.describe(clock_now());
  if (self->try_acquire_driving()) {
    std::string text = registry_.describe(clock_now());
    self->release_driving();
    return text;
  }
  // A block_on runs on another thread: ask it, and wait for the answer.
  std::unique_lock lock(dump_mutex_);
  dump_ready_ = false;
  dump_requested_.store(true, memory_order_release);
  self->driver_->unpark();
  // The driver may leave block_on without serving us: look again now and then.
  while (!dump_ready_ && driving_.load(memory_order_acquire)) {
    dump_cv_.wait_for(lock, std::chrono::milliseconds(10));
  }
  if (dump_ready_) return dump_text_;
  lock.unlock();
  return dump_tasks();
}

}  // namespace brigade::detail
