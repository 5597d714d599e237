#include "runtime/scheduler/multi_thread/multi_thread.hpp"

#include "runtime/blocking_pool.hpp"
#include "trace/tracer.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace brigade::detail {

namespace {

std::size_t worker_count(const runtime_options& o) {
  std::size_t n = o.worker_threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  if (n > task_registry::max_shards) {
    throw std::invalid_argument("brigade::runtime: worker_threads must be at most 64");
  }
  return n;
}

/// block_on from a plain thread: the root task's completion unparks it.
/// The waiter spins out the last few instructions of the listener call
/// (finished) so that it never returns while the completing worker still
/// touches this object.
struct block_on_waiter {
  completion_listener listener;  // first member: listener* is a waiter*
  parker thread_parker;
  atomic<bool> finished{false};

  static void on_complete(completion_listener* l, task_header*) noexcept {
    auto* w = reinterpret_cast<block_on_waiter*>(l);
    w->thread_parker.unpark();
    // release: the waiter may return (and destroy *w) once it sees this.
    w->finished.store(true, memory_order_release);
  }
};

}  // namespace

multi_thread_scheduler::multi_thread_scheduler(runtime_options options)
    : scheduler(std::move(options)), idle_(worker_count(options_)) {
  const std::size_t n = worker_count(options_);
  for (std::size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<registry_shard>(static_cast<std::uint32_t>(i)));
    workers_.push_back(std::make_unique<worker>(*this, i));
  }
  try {
    for (auto& w : workers_) w->start();
  } catch (const std::system_error&) {
    stop_workers();
    throw;
  }
}

multi_thread_scheduler::~multi_thread_scheduler() {
  if (current_worker() != nullptr && tl_context.sched == this) {
    std::fputs("brigade: a multi_thread runtime was destroyed by one of its own tasks\n", stderr);
    std::terminate();
  }
  shutdown();
}

bool multi_thread_scheduler::register_task(task_header* task) noexcept {
  worker* w = current_worker();
  const std::size_t shard = (w != nullptr && tl_context.sched == this) ? w->index() : 0;
  return shards_[shard]->insert(task);
}

void multi_thread_scheduler::release_completed(task_header* task) noexcept {
  const std::uint32_t shard = task_registry::shard_of(task);
  worker* w = current_worker();
  if (w != nullptr && tl_context.sched == this && w->index() != shard) {
    shards_[shard]->push_remote(task);  // its owner settles it (registry_shard.hpp)
    return;
  }
  shards_[shard]->remove_completed(task);
}

void multi_thread_scheduler::refuse(task_header* task) noexcept {
  task->exception_ = std::make_exception_ptr(cancelled{});
  complete_task(task);
  task->release();
}

void multi_thread_scheduler::notify_parked() noexcept {
  const int w = idle_.worker_to_notify();
  if (w < 0) return;
  unparks_.fetch_add(1, memory_order_relaxed);
  workers_[static_cast<std::size_t>(w)]->thread_parker().unpark();
}

void multi_thread_scheduler::notify_if_work_pending() noexcept {
  bool pending = !inject_.empty();
  for (std::size_t i = 0; !pending && i < workers_.size(); ++i) {
    pending = !workers_[i]->queue().empty();
  }
  if (pending) notify_parked();
}

bool multi_thread_scheduler::runtime_idle() noexcept {
  if (idle_.num_unparked() != 0 || !inject_.empty()) return false;
  for (const auto& w : workers_) {
    if (!w->queue().empty() || w->has_lifo()) return false;
  }
  return true;
}

void multi_thread_scheduler::on_stall() noexcept {
  if (runtime_idle()) report_stall();
}

void multi_thread_scheduler::schedule(task_header* task) noexcept {
  if (tracer_) trace_instant(trace_event::kind::wake, task);
  if (worker* w = current_worker(); w != nullptr && tl_context.sched == this) {
    w->schedule_local(task);
    return;
  }
  if (inject_.push(task)) notify_parked();
  // Refused: shutting down; the registry destroys the task.
}

bool multi_thread_scheduler::help_join(task_header* target) noexcept {
  if (worker* w = current_worker(); w != nullptr && tl_context.sched == this) {
    return w->help_join(target);
  }
  return false;
}

void multi_thread_scheduler::spawn(task_header* task) noexcept {
  if (tracer_) trace_instant(trace_event::kind::spawn, task);
  if (closed_.load(memory_order_acquire) || !register_task(task)) {
    remote_spawned_.fetch_add(1, memory_order_relaxed);
    refuse(task);
    return;
  }
  if (worker* w = current_worker(); w != nullptr && tl_context.sched == this) {
    w->spawn_local(task);
    return;
  }
  remote_spawned_.fetch_add(1, memory_order_relaxed);
  if (inject_.push(task)) {
    notify_parked();
    return;
  }
  // The queue closed between our closed_ check and the push: shutdown is
  // destroying the registry, and may already have passed our shard. Whoever
  // takes the task out of the registry (under the shard lock) owns it.
  if (unregister(task)) refuse(task);
}

bool multi_thread_scheduler::unregister(task_header* task) noexcept {
  return shards_[task_registry::shard_of(task)]->with_tasks([task](task_registry& tasks) {
    if (!task_registry::is_registered(task)) return false;
    tasks.remove(task);
    return true;
  });
}

void multi_thread_scheduler::block_on(task_header* root) {
  if (tl_context.sched != nullptr) {
    throw std::logic_error(
        "brigade: block_on called from a thread that already drives a runtime "
        "(inside a task, co_await the task instead)");
  }
  block_on_waiter waiter;
  waiter.listener.on_complete = &block_on_waiter::on_complete;
  stalled_.store(false, memory_order_relaxed);
  if (!root->set_join_waker(reinterpret_cast<std::uintptr_t>(&waiter.listener) | 1u)) return;
  while (!waiter.finished.load(memory_order_acquire)) {
    if (stalled()) {
      if (root->unset_join_waker()) throw_deadlock();
      continue;  // completed meanwhile: the listener is on its way
    }
    if (root->is_complete()) {
      spin_yield();  // the listener is running right now
      continue;
    }
    if (is_shutdown()) {
      // A task called shutdown(): the workers stopped, so nobody else will
      // complete the root. Finish the teardown here (we are no worker).
      shutdown();
      continue;
    }
    // Shutdown requested from a task does not know this thread: look again
    // now and then instead of sleeping forever.
    waiter.thread_parker.park_for(std::chrono::milliseconds(100));
  }
}

void multi_thread_scheduler::stop_workers() noexcept {
  shutdown_.store(true, memory_order_release);
  for (auto& w : workers_) w->thread_parker().unpark();
  for (auto& w : workers_) w->join();
}

void multi_thread_scheduler::destroy_all() noexcept {
  task_list pending;
  inject_.close(pending);  // every queued task is also registered
  scheduler* saved = tl_context.sched;
  tl_context.sched = this;  // destructors that spawn see a closed runtime
  for (auto& shard : shards_) {
    for (;;) {
      // Taken out under the lock before it is destroyed, so a racing
      // refused spawn (see spawn) cannot take it too.
      task_header* t = shard->with_tasks([](task_registry& tasks) -> task_header* {
        if (tasks.empty()) return nullptr;
        task_header* last = tasks.back();
        tasks.remove(last);
        return last;
      });
      if (t == nullptr) break;
      destroy_task(t);
      t->release();
    }
  }
  tl_context.sched = saved;
}

void multi_thread_scheduler::shutdown() noexcept {
  closed_.store(true, memory_order_release);
  if (current_worker() != nullptr && tl_context.sched == this) {
    // Step 2 only: a worker cannot join itself. The destructor finishes.
    shutdown_.store(true, memory_order_release);
    for (auto& w : workers_) w->thread_parker().unpark();
    return;
  }
  std::lock_guard lock(shutdown_mutex_);
  if (torn_down_) return;
  stop_workers();
  destroy_all();
  blocking_->shutdown();
  finish_trace();
  torn_down_ = true;
}

runtime_metrics multi_thread_scheduler::metrics() const noexcept {
  runtime_metrics m;
  m.workers = workers_.size();
  m.spawned = remote_spawned_.load(memory_order_relaxed);
  m.unparks = unparks_.load(memory_order_relaxed);
  for (const auto& w : workers_) {
    const worker_counters& c = w->counters();
    m.spawned += c.spawned.load(memory_order_relaxed);
    m.polls += c.polls.load(memory_order_relaxed);
    m.steals += c.steals.load(memory_order_relaxed);
    m.parks += c.parks.load(memory_order_relaxed);
    m.budget_forced_yields += c.forced_yields.load(memory_order_relaxed);
    m.local_queue_depth += w->queue().size() + (w->has_lifo() ? 1 : 0);
  }
  for (const auto& s : shards_) {
    m.live_tasks += s->with_tasks([](task_registry& tasks) { return tasks.size(); });
  }
  m.inject_queue_depth = inject_.size();
  add_blocking_metrics(m);
  return m;
}

std::string multi_thread_scheduler::dump_tasks() const {
  std::string out;
  const auto now = clock_now();
  for (const auto& s : shards_) {
    out += s->with_tasks([now](task_registry& tasks) { return tasks.describe(now); });
  }
  return out;
}

}  // namespace brigade::detail
