#pragma once
// spawn_blocking: run a blocking function on the runtime's blocking pool and
// await its result from a task.

#include <brigade/cancelled.hpp>
#include <brigade/detail/blocking_job.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/wait_info.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace brigade {

namespace detail {

template <class F>
struct blocking_job_impl final : blocking_job {
  using result_type = std::invoke_result_t<F&>;
  explicit blocking_job_impl(F fn) : f(std::move(fn)) {
    run = &run_impl;
    destroy = &destroy_impl;
  }
  static void run_impl(blocking_job* base) noexcept {
    auto* self = static_cast<blocking_job_impl*>(base);
    try {
      if constexpr (std::is_void_v<result_type>) {
        self->f();
      } else {
        self->result.emplace(self->f());
      }
    } catch (...) {
      self->exception_ = std::current_exception();
    }
  }
  static void destroy_impl(blocking_job* base) noexcept {
    delete static_cast<blocking_job_impl*>(base);
  }

  F f;
  std::conditional_t<std::is_void_v<result_type>, bool, std::optional<result_type>> result{};
};

}  // namespace detail

/// The awaitable result of spawn_blocking.
///
/// Resumes on: a worker of the runtime, after the function returned on a
/// blocking-pool thread.
/// Cancellation: partial. Aborting the awaiting task throws
/// brigade::cancelled at the await, but the function runs to completion
/// (a thread cannot be interrupted safely); its result is dropped.
/// Dropping the handle unawaited lets the function finish on its own.
/// Thread safety: one task awaits it, once.
/// Throws: whatever the function threw; brigade::cancelled; std::logic_error
/// when awaited twice.
template <class R>
class [[nodiscard]] blocking_handle {
 public:
  blocking_handle(blocking_handle&& o) noexcept : job_(std::exchange(o.job_, nullptr)) {}
  blocking_handle& operator=(blocking_handle&&) = delete;
  ~blocking_handle() {
    if (job_ == nullptr) return;
    // Still registered only when the waiting frame is destroyed at runtime
    // shutdown: withdraw so the pool thread never wakes a dead awaiter.
    auto expected = detail::blocking_job::state::waiting;
    if (job_->state_.compare_exchange_strong(expected, detail::blocking_job::state::pending,
                                             detail::memory_order_acq_rel)) {
      job_->waiter_->release();
    }
    job_->release();
  }

  bool await_ready() noexcept {
    detail::task_header* me = detail::current_task();
    if (me != nullptr && me->is_cancelled()) return withdrawn_ = true;
    return job_->state_.load(detail::memory_order_acquire) == detail::blocking_job::state::done;
  }
  bool await_suspend(std::coroutine_handle<> self) {
    detail::task_header* me = detail::current_task();
    if (me == nullptr) detail::throw_outside_runtime("brigade::spawn_blocking (await)");
    detail::set_wait(me, detail::wait_kind::blocking, job_);
    node_.poll = &poll;
    node_.handle = self;
    me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
    me->add_ref();  // the waker's reference
    job_->waiter_ = me;
    auto expected = detail::blocking_job::state::pending;
    // acq_rel: release publishes waiter_ to complete(); acquire sees the result.
    if (!job_->state_.compare_exchange_strong(expected, detail::blocking_job::state::waiting,
                                              detail::memory_order_acq_rel)) {
      me->release();  // done already
      return false;
    }
    return true;
  }
  R await_resume() {
    if (withdrawn_) throw cancelled{};
    if (taken_) throw std::logic_error("brigade::spawn_blocking: result already taken");
    taken_ = true;
    // Moved out: the task then holds the last reference to the exception,
    // so the pool thread that may free the job later never frees it (that
    // handoff goes through libstdc++'s uninstrumented refcount, which TSan
    // cannot see).
    if (job_->exception_) std::rethrow_exception(std::exchange(job_->exception_, nullptr));
    return take_(job_);
  }

  /// For spawn_blocking: how to move the result out of the job.
  using take_fn = R (*)(detail::blocking_job*);
  blocking_handle(detail::blocking_job* job, take_fn take) noexcept : job_(job), take_(take) {}

 private:
  static bool poll(detail::wait_node* node, bool cancel) noexcept {
    auto* self = reinterpret_cast<blocking_handle*>(reinterpret_cast<char*>(node) -
                                                    offsetof(blocking_handle, node_));
    if (self->job_->state_.load(detail::memory_order_acquire) ==
        detail::blocking_job::state::done) {
      return true;
    }
    if (!cancel) return false;
    auto expected = detail::blocking_job::state::waiting;
    if (self->job_->state_.compare_exchange_strong(expected, detail::blocking_job::state::pending,
                                                   detail::memory_order_acq_rel)) {
      self->job_->waiter_->release();  // our waker reference
      self->withdrawn_ = true;
    }
    return true;
  }

  detail::wait_node node_;
  detail::blocking_job* job_;
  take_fn take_ = nullptr;
  bool withdrawn_ = false;
  bool taken_ = false;
};

/// Runs `f()` on the runtime's blocking pool: an elastic set of threads
/// (up to 512, idle ones leave after 10 s) for blocking system calls, file
/// I/O without io_uring, DNS, and CPU work that would otherwise stall a
/// worker. Returns an awaitable of f's result (see blocking_handle).
///
/// Thread safety: call from a task or any thread that drives a runtime.
/// Throws: std::logic_error outside a runtime; brigade::cancelled after the
/// runtime shut down; std::system_error when no thread can be started.
/// Example: std::string text = co_await brigade::spawn_blocking([] { return slow_read(); });
template <class F>
auto spawn_blocking(F f) {
  using impl = detail::blocking_job_impl<F>;
  using R = typename impl::result_type;
  detail::scheduler* sched = detail::current_scheduler();
  if (sched == nullptr) detail::throw_outside_runtime("brigade::spawn_blocking");
  auto* job = new impl(std::move(f));
  try {
    detail::submit_blocking(*sched, job);
  } catch (...) {
    delete job;
    throw;
  }
  auto take = [](detail::blocking_job* base) -> R {
    if constexpr (!std::is_void_v<R>) return std::move(*static_cast<impl*>(base)->result);
  };
  return blocking_handle<R>{job, take};
}

}  // namespace brigade
