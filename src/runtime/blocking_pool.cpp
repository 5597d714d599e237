#include "runtime/blocking_pool.hpp"

#include "trace/tracer.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/scheduler.hpp>

#include <cstdio>
#include <system_error>
#include <thread>

namespace brigade::detail {

struct blocking_pool::state {
  std::mutex mutex;
  std::condition_variable cv;       // idle threads wait for jobs here
  std::condition_variable exit_cv;  // shutdown waits for idle threads to leave
  blocking_job* head = nullptr;
  blocking_job* tail = nullptr;
  std::size_t threads = 0;
  std::size_t idle = 0;
  std::size_t started = 0;  // lane names
  bool shutdown = false;
  tracer* trace = nullptr;  // cleared at shutdown: stragglers stop recording

  blocking_job* pop() noexcept {
    blocking_job* j = head;
    if (j != nullptr) {
      head = j->next_;
      if (head == nullptr) tail = nullptr;
      j->next_ = nullptr;
    }
    return j;
  }
};

blocking_pool::blocking_pool(tracer* trace) : state_(std::make_shared<state>()) {
  state_->trace = trace;
}

blocking_pool::~blocking_pool() { shutdown(); }

void blocking_pool::thread_main(std::shared_ptr<state> s) noexcept {
  std::unique_lock lock(s->mutex);
  const std::size_t number = s->started++;
  if (s->trace != nullptr) {
    try {
      s->trace->register_lane("blocking " + std::to_string(number));
    } catch (...) {
    }
  }
  for (;;) {
    blocking_job* job = s->pop();
    if (job == nullptr) {
      if (s->shutdown) break;
      ++s->idle;
      const bool got_work =
          s->cv.wait_for(lock, keep_alive, [&] { return s->head != nullptr || s->shutdown; });
      --s->idle;
      if (!got_work) break;  // idle for keep_alive: leave
      continue;
    }
    // The tracer is read under the lock only: shutdown clears it under the
    // same lock before the runtime (and its tracer) can go away.
    const std::int64_t t0 = s->trace != nullptr ? s->trace->now_ns() : 0;
    lock.unlock();
    job->run(job);
    job->complete();
    job->release();
    lock.lock();
    if (s->trace != nullptr) {
      try {
        s->trace->span(trace_event::kind::blocking, "spawn_blocking", t0, s->trace->now_ns());
        s->trace->flush_thread();
      } catch (...) {
      }
    }
  }
  --s->threads;
  s->exit_cv.notify_all();
}

void blocking_pool::submit(blocking_job* job) {
  std::unique_lock lock(state_->mutex);
  if (state_->shutdown) throw cancelled{};
  job->next_ = nullptr;
  if (state_->tail != nullptr) {
    state_->tail->next_ = job;
  } else {
    state_->head = job;
  }
  state_->tail = job;
  if (state_->idle > 0) {
    state_->cv.notify_one();
    return;
  }
  if (state_->threads >= max_threads) return;  // queued: a busy thread takes it later
  ++state_->threads;
  try {
    std::thread(&blocking_pool::thread_main, state_).detach();
  } catch (const std::system_error&) {
    --state_->threads;
    if (state_->threads == 0) {
      // Nobody would ever run it: take it back out (it is the tail).
      blocking_job* prev = nullptr;
      for (blocking_job* j = state_->head; j != job; j = j->next_) prev = j;
      if (prev != nullptr) {
        prev->next_ = nullptr;
      } else {
        state_->head = nullptr;
      }
      state_->tail = prev;
      throw;
    }
  }
}

void blocking_pool::shutdown() noexcept {
  std::unique_lock lock(state_->mutex);
  if (state_->shutdown) return;  // done once; stragglers are on their own
  {
    state_->shutdown = true;
    state_->trace = nullptr;
    // Step 1: jobs never started complete as cancelled.
    while (blocking_job* job = state_->pop()) {
      job->exception_ = std::make_exception_ptr(cancelled{});
      job->complete();
      job->release();
    }
  }
  state_->cv.notify_all();
  // Step 2: idle threads leave at once; busy ones get a grace period.
  state_->exit_cv.wait_for(lock, shutdown_grace, [&] { return state_->threads == 0; });
  if (state_->threads != 0) {
    std::fprintf(stderr,
                 "brigade: shutdown: %zu blocking task(s) still running; detached, they "
                 "finish on their own\n",
                 state_->threads);
  }
}

std::size_t blocking_pool::threads() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->threads;
}

std::size_t blocking_pool::idle_threads() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->idle;
}

void submit_blocking(scheduler& sched, blocking_job* job) { sched.get_blocking_pool().submit(job); }

}  // namespace brigade::detail
