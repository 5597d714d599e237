#include "runtime/scheduler/multi_thread/worker.hpp"

#include "runtime/scheduler/multi_thread/multi_thread.hpp"

#include <brigade/detail/context.hpp>
#include <brigade/detail/random.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>

namespace brigade::detail {

namespace {
constexpr std::uint64_t inject_interval = 61;
constexpr std::uint32_t max_lifo_runs = 3;
constexpr std::uint32_t max_inline_depth = 32;
constexpr std::uint32_t max_inline_runs = 128;

thread_local constinit worker* tl_worker = nullptr;
}  // namespace

worker* current_worker() noexcept { return tl_worker; }

void worker::start() {
  thread_ = std::thread([this] { run(); });
}

void worker::join() {
  if (thread_.joinable()) thread_.join();
}

void worker::schedule_local(task_header* t) noexcept {
  if (chaos_) [[unlikely]] {
    if (chaos_coin(4)) {  // skip the LIFO slot
      queue_.push_back(t, sched_.inject());
      sched_.notify_parked();
      return;
    }
    if (chaos_coin(8) && sched_.inject().push(t)) {  // as if woken remotely
      sched_.notify_parked();
      return;
    }
  }
  // The woken task runs next; the one it displaces goes to the queue, where
  // an idle worker may steal it.
  if (task_header* prev = lifo_.exchange(t, memory_order_relaxed)) {
    queue_.push_back(prev, sched_.inject());
    sched_.notify_parked();
  }
}

void worker::spawn_local(task_header* t) noexcept {
  bump(counters_.spawned);
  queue_.push_back(t, sched_.inject());
  sched_.notify_parked();
}

bool worker::help_join(task_header* t) noexcept {
  if (chaos_ && chaos_coin(2)) [[unlikely]]
    return false;
  const bool nest =
      inline_depth_ < max_inline_depth && inline_allowance_ > 0 && sched_.get_tracer() == nullptr;
  if (!nest && run_next_.load(memory_order_relaxed) != nullptr) return false;
  if (!queue_.take_back(t) && !queue_.take_front(t)) return false;
  if (!nest) {
    run_next_.store(t, memory_order_relaxed);
    return false;
  }
  // A turn inside the joiner's turn: the joiner's frame is suspended (we
  // are in its await_suspend), its context is saved and restored around.
  --inline_allowance_;
  ++inline_depth_;
  thread_context& ctx = tl_context;
  task_header* const joiner = ctx.task;
  const std::uint32_t budget = ctx.budget;
  bump(counters_.polls);
  finish_turn(t, run_task(t));
  ctx.task = joiner;
  ctx.budget = budget;
  --inline_depth_;
  return true;
}

task_header* worker::next_task() noexcept {
  const bool fairness_tick = ++tick_ % inject_interval == 0;
  if (fairness_tick) {
    // Maintenance: fire due timers and dispatch ready I/O even when every
    // worker is busy (skipped if another worker holds the driver).
    if (sched_.try_acquire_driver()) {
      sched_.the_driver().maintain();
      sched_.release_driver();
    }
    if (task_header* t = sched_.inject().pop()) return t;
  }
  if (task_header* t = run_next_.load(memory_order_relaxed)) {
    run_next_.store(nullptr, memory_order_relaxed);
    if (!fairness_tick) {
      lifo_runs_ = 0;
      return t;
    }
    queue_.push_back(t, sched_.inject());  // the front of the queue gets this turn
  }
  if (task_header* t = lifo_.load(memory_order_relaxed)) {
    lifo_.store(nullptr, memory_order_relaxed);
    if (lifo_runs_ < max_lifo_runs) {
      ++lifo_runs_;
      return t;
    }
    queue_.push_back(t, sched_.inject());  // capped: take the queue's turn
  }
  lifo_runs_ = 0;
  if (task_header* t = queue_.pop()) return t;
  return take_inject_share();
}

task_header* worker::take_inject_share() noexcept {
  // Our queue is empty: take a fair share of the inject queue under one lock
  // (Tokio's next_remote_task_batch) instead of one task per lock: run the
  // first, queue the rest locally, where other workers can steal them. At
  // most half our capacity, so the pushes below never overflow.
  inject_queue& inject = sched_.inject();
  if (inject.empty()) return nullptr;
  const std::size_t share =
      std::min<std::size_t>(inject.size() / sched_.num_workers() + 1, local_queue::capacity / 2);
  task_list batch;
  inject.pop_batch(share, batch);
  task_header* first = batch.pop_front();
  while (task_header* t = batch.pop_front()) queue_.push_back(t, inject);
  return first;
}

task_header* worker::steal_work() noexcept {
  if (!searching_) {
    if (!sched_.idle_state().transition_worker_to_searching()) return nullptr;
    searching_ = true;
  }
  const std::size_t n = sched_.num_workers();
  const std::size_t start = n > 1 ? static_cast<std::size_t>(random_below(n)) : 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t victim = (start + i) % n;
    if (victim == index_) continue;
    if (task_header* t = sched_.worker_at(victim).queue().steal_into(queue_)) {
      bump(counters_.steals);
      if (sched_.get_tracer() != nullptr) sched_.trace_instant(trace_event::kind::steal, t);
      return t;
    }
  }
  return take_inject_share();
}

void worker::run_one(task_header* t) noexcept {
  if (searching_) {
    searching_ = false;
    // The last searcher found work: there may be more, keep someone looking.
    if (sched_.idle_state().transition_worker_from_searching()) sched_.notify_parked();
  }
  bump(counters_.polls);
  inline_allowance_ = max_inline_runs;
  const std::uint64_t yields_before = tl_context.forced_yields;
  const bool tracing = sched_.get_tracer() != nullptr;
  const std::int64_t t0 = tracing ? sched_.get_tracer_now() : 0;
  // Tracing reads the header after the turn; a task left suspended may be
  // woken, finished and freed by another worker meanwhile: hold it.
  if (tracing) t->add_ref();
  const run_result result = run_task(t);
  if (tracing) {
    sched_.trace_span_of(t, t0, result == run_result::suspended ? tl_context.last_wait : 0);
    t->release();
  }
  if (tl_context.forced_yields != yields_before) {
    bump(counters_.forced_yields, tl_context.forced_yields - yields_before);
  }
  finish_turn(t, result);
}

void worker::finish_turn(task_header* t, run_result result) noexcept {
  switch (result) {
    case run_result::suspended:
      break;
    case run_result::requeue:
      queue_.push_back(t, sched_.inject());
      sched_.notify_parked();
      break;
    case run_result::completed:
      sched_.release_completed(t);
      break;
  }
}

void worker::park() noexcept {
  sched_.settle_registry(index_);  // tasks of ours that completed elsewhere
  const bool last_searcher = sched_.idle_state().transition_worker_to_parked(index_, searching_);
  searching_ = false;
  if (last_searcher) sched_.notify_if_work_pending();
  bump(counters_.parks);
  const std::int64_t p0 = sched_.get_tracer() != nullptr ? sched_.get_tracer_now() : 0;
  struct park_span {
    multi_thread_scheduler& s;
    std::int64_t start;
    ~park_span() {
      if (s.get_tracer() != nullptr) s.trace_park(start);
    }
  } span{sched_, p0};
  for (;;) {
    if (sched_.try_acquire_driver()) {
      // The first worker to park sleeps in the driver: timers fire and I/O
      // is dispatched without a dedicated reactor thread.
      const auto state =
          sched_.runtime_idle() ? driver::runtime_state::idle : driver::runtime_state::busy;
      const auto result = parker_.park_on_driver(sched_.the_driver(), state);
      sched_.release_driver();
      if (result == driver::park_result::stalled) sched_.on_stall();
    } else {
      parker_.park();
    }
    if (sched_.is_shutdown()) return;
    if (has_lifo() || !queue_.empty()) {
      // The driver woke tasks onto this worker's own queues.
      // Not in the sleepers any more: a notifier counted us as searching,
      // and we must behave as a searcher or the count never drops.
      if (!sched_.idle_state().unpark_self(index_)) searching_ = true;
      return;
    }
    if (sched_.idle_state().is_notified(index_)) {
      searching_ = true;  // the notifier counted us as searching
      return;
    }
  }
}

void worker::run() noexcept {
  tl_worker = this;
  tl_context.sched = &sched_;
  if (sched_.get_tracer() != nullptr) sched_.trace_lane("worker", index_);
  while (!sched_.is_shutdown()) {
    if (task_header* t = next_task()) {
      if (chaos_ && chaos_coin(16)) {
        // Yield this turn: the task goes to the back of the queue.
        queue_.push_back(t, sched_.inject());
        sched_.notify_parked();
        continue;
      }
      run_one(t);
      continue;
    }
    if (task_header* t = steal_work()) {
      run_one(t);
      continue;
    }
    park();
  }
  if (searching_) {
    searching_ = false;
    sched_.idle_state().transition_worker_from_searching();
  }
  if (sched_.get_tracer() != nullptr) sched_.trace_flush();
  tl_context.sched = nullptr;
  tl_worker = nullptr;
}

}  // namespace brigade::detail
