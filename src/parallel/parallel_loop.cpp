// The engine behind parallel_for / parallel_reduce (include/brigade/parallel.hpp
// explains the chunking, the fork-join split and why callers participate).
//
// One parallel_loop object per call, on the heap and reference counted:
//   - the caller (blocking thread or awaiting task) holds one reference;
//   - every spawned range task holds one (in its frame, so a task destroyed
//     unrun at runtime shutdown releases it too).
// Why on the heap: a blocking caller returns once every *chunk* is done,
// not every *task*; tasks still queued then (their chunks were claimed by
// someone else) run later, find nothing to claim and exit. They must still
// find the claims array alive. The body's context, in contrast, lives with
// the caller: it is only used by the thread that claimed a chunk, and the
// caller waits for every chunk.
//
// Chunk protocol
//   1. claim(k): an atomic exchange on claims_[k]; exactly one thread wins.
//   2. The winner runs the body on the chunk's elements unless stop_ is set
//      (a failure or a cancellation happened), then arrives on count_.
//   3. count_ holds one item per chunk plus the caller's share; the last
//      arrival wakes the caller (see work_count.hpp). Results written by the
//      chunks (reduce partials, the first error) are ordered before the
//      caller's return by count_'s acq_rel decrements.

#include "parallel/work_count.hpp"

#include <brigade/parallel.hpp>
#include <brigade/spawn.hpp>

#include <algorithm>
#include <exception>
#include <memory>
#include <thread>
#include <utility>

namespace brigade::detail {

namespace {

class parallel_loop {
 public:
  parallel_loop(std::size_t n, std::size_t chunks, loop_body body)
      : chunks_(chunks),
        base_(n / chunks),
        extra_(n % chunks),
        body_(body),
        claims_(new atomic<std::uint8_t>[chunks]()) {
    count_.add(chunks);
  }
  parallel_loop(const parallel_loop&) = delete;
  parallel_loop& operator=(const parallel_loop&) = delete;

  void retain() noexcept {
    // relaxed: a new reference is made from an existing one.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the last owner sees every other owner's writes before delete.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

  /// Fork-join over chunk indices [lo, hi): spawn the right half, keep the
  /// left, until one chunk is left; run it. `via` spawns for a blocking
  /// caller (it may be no worker); tasks spawn on their own runtime.
  void work(std::size_t lo, std::size_t hi, const runtime_handle* via) noexcept {
    while (hi - lo > 1 && !stopped() && !all_claimed_.load(memory_order_relaxed)) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (!spawn_range(mid, hi, via)) break;  // could not spawn: run it here
      hi = mid;
    }
    for (std::size_t k = lo; k < hi; ++k) {
      if (claim(k)) run_chunk(k);
    }
  }

  /// The blocking caller's share: every chunk nobody has started.
  void help() noexcept {
    for (std::size_t k = 0; k < chunks_; ++k) {
      if (claim(k)) run_chunk(k);
    }
    // relaxed: only a hint that lets late tasks skip their splitting.
    all_claimed_.store(true, memory_order_relaxed);
  }

  void stop() noexcept {
    // relaxed: a hint; chunks that miss it just run (as if started earlier).
    stop_.store(true, memory_order_relaxed);
  }
  static void stop_hook(void* self) noexcept { static_cast<parallel_loop*>(self)->stop(); }

  work_count& count() noexcept { return count_; }

  /// After count_ is done: the first failure, if any, moved out, so that
  /// the caller's thread alone holds that exception from here. Otherwise a
  /// worker dropping the last loop reference later (its range task's frame
  /// goes at completion, after the count) would free the exception while
  /// the caller's catch block reads it: correct through exception_ptr's own
  /// atomic count, but libstdc++'s count is invisible to ThreadSanitizer,
  /// which reported it (ParallelFor.FirstExceptionPropagatesWithItsType).
  void rethrow_if_failed() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  ~parallel_loop() = default;

  bool stopped() const noexcept { return stop_.load(memory_order_relaxed); }

  bool claim(std::size_t k) noexcept {
    // relaxed: the claim only decides who runs chunk k; the chunk's results
    // are published through count_.
    if (claims_[k].load(memory_order_relaxed) != 0) return false;
    return claims_[k].exchange(1, memory_order_relaxed) == 0;
  }

  void run_chunk(std::size_t k) noexcept {
    if (!stopped()) {
      const std::size_t lo = k * base_ + std::min(k, extra_);
      const std::size_t hi = lo + base_ + (k < extra_ ? 1 : 0);
      try {
        body_.run(body_.ctx, k, lo, hi);
      } catch (...) {
        fail(std::current_exception());
      }
    }
    count_.arrive();
  }

  void fail(std::exception_ptr e) noexcept {
    // acq_rel: one winner; error_ is read after count_ is done.
    if (!failed_.exchange(true, memory_order_acq_rel)) error_ = std::move(e);
    stop();
  }

  bool spawn_range(std::size_t lo, std::size_t hi, const runtime_handle* via) noexcept;

  const std::size_t chunks_;
  const std::size_t base_;   // elements per chunk ...
  const std::size_t extra_;  // ... plus one for the first extra_ chunks
  const loop_body body_;
  std::unique_ptr<atomic<std::uint8_t>[]> claims_;
  work_count count_;
  atomic<std::uint32_t> refs_{1};
  atomic<bool> stop_{false};
  atomic<bool> all_claimed_{false};
  atomic<bool> failed_{false};
  std::exception_ptr error_;
};

/// A counted reference to a parallel_loop.
class loop_ref {
 public:
  explicit loop_ref(parallel_loop* p) noexcept : p_(p) {}
  loop_ref(loop_ref&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  loop_ref(const loop_ref&) = delete;
  loop_ref& operator=(const loop_ref&) = delete;
  loop_ref& operator=(loop_ref&&) = delete;
  ~loop_ref() {
    if (p_ != nullptr) p_->release();
  }
  parallel_loop* operator->() const noexcept { return p_; }
  parallel_loop* get() const noexcept { return p_; }

 private:
  parallel_loop* p_;
};

task<> range_task(loop_ref loop, std::size_t lo, std::size_t hi) {
  loop->work(lo, hi, nullptr);
  co_return;
}

bool parallel_loop::spawn_range(std::size_t lo, std::size_t hi,
                                const runtime_handle* via) noexcept {
  try {
    retain();
    task<> t = range_task(loop_ref{this}, lo, hi);
    if (via != nullptr) {
      via->spawn(std::move(t)).detach();
      return true;
    }
    // In a task: spawn detached on our own runtime (no join handle: the
    // chunk count, not the task, tells the caller when the work is done).
    scheduler* sched = current_scheduler();
    task_header* h = task_header::from_frame(t.release().address());
    prepare_spawn(h, *sched, {}, source_location::current(), join_kind::detached);
    sched->spawn(h);
    return true;
  } catch (...) {
    return false;  // out of memory: the caller runs the range itself
  }
}

}  // namespace

std::size_t loop_chunks(std::size_t n, std::size_t grain, std::size_t workers) noexcept {
  if (n == 0) return 0;
  if (grain == 0) grain = std::max<std::size_t>(1, n / (8 * std::max<std::size_t>(1, workers)));
  return n / grain + (n % grain != 0 ? 1 : 0);
}

std::size_t worker_count(const runtime_handle& rt) {
  return std::max<std::size_t>(1, rt.metrics().workers);
}

std::size_t current_worker_count() {
  scheduler* s = current_scheduler();
  if (s == nullptr || s->options().flavor == flavor::current_thread) return 1;
  if (s->options().worker_threads != 0) return s->options().worker_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

void run_loop_blocking(const runtime_handle& rt, std::size_t n, std::size_t chunks,
                       loop_body body) {
  if (chunks == 0) return;
  if (chunks == 1) {
    body.run(body.ctx, 0, 0, n);  // nothing to share: no tasks
    return;
  }
  loop_ref loop{new parallel_loop(n, chunks, body)};
  loop->work(0, chunks, &rt);
  loop->help();
  loop->count().blocking_wait();
  loop->rethrow_if_failed();
}

task<> run_loop_async(std::size_t n, std::size_t chunks, loop_body body) {
  if (current_task() == nullptr) {
    throw std::logic_error("brigade: parallel_*_async awaited outside a spawned task");
  }
  if (chunks == 0) co_return;
  if (chunks == 1) {
    body.run(body.ctx, 0, 0, n);
    co_return;
  }
  loop_ref loop{new parallel_loop(n, chunks, body)};
  loop->work(0, chunks, nullptr);
  work_count::wait_awaiter waiting = loop->count().wait(&parallel_loop::stop_hook, loop.get());
  co_await waiting;
  loop->rethrow_if_failed();
  if (waiting.cancel_requested()) throw cancelled{};
}

}  // namespace brigade::detail
