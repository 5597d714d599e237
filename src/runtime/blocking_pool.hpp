#pragma once
// The blocking pool: elastic threads for work that blocks (DESIGN §3).
//
// Moving parts (all under mutex_)
//   queue_       jobs not yet taken, FIFO, linked through blocking_job::next_
//   threads_     threads alive; idle_ of them wait on cv_ for a job
//   shutdown_    no more jobs; idle threads leave at once
// A job is handed to an idle thread if there is one, else a new thread is
// started (up to max_threads; beyond that jobs wait in the queue). An idle
// thread leaves after keep_alive without work.
//
// Threads are detached and share ownership of the pool state, so a thread
// still inside a user's blocking call at shutdown cannot hang the runtime:
//
// Shutdown protocol
//   1. shutdown_ = true; jobs still queued are completed as cancelled (their
//      awaiters, if any, see brigade::cancelled).
//   2. Wake every idle thread; wait (bounded by shutdown_grace) until only
//      busy threads remain. Why bounded: a busy thread runs user code that
//      may never return.
//   3. Report the busy ones on stderr; they finish on their own later and
//      exit without touching the runtime (their state is shared_ptr-owned).

#include <brigade/detail/blocking_job.hpp>

namespace brigade::detail {
class tracer;
}

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

namespace brigade::detail {

class blocking_pool {
 public:
  static constexpr std::size_t max_threads = 512;
  static constexpr std::chrono::seconds keep_alive{10};
  static constexpr std::chrono::milliseconds shutdown_grace{100};

  /// `trace`: where jobs are recorded (null: not traced); must outlive the
  /// pool's threads' use of it, i.e. the runtime (stragglers stop recording
  /// once shutdown began).
  explicit blocking_pool(tracer* trace);
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues a job. Throws brigade::cancelled after shutdown,
  /// std::system_error when no thread can be started and none exists.
  void submit(blocking_job* job);
  void shutdown() noexcept;

  std::size_t threads() const noexcept;
  std::size_t idle_threads() const noexcept;

 private:
  struct state;
  static void thread_main(std::shared_ptr<state> s) noexcept;

  std::shared_ptr<state> state_;
};

}  // namespace brigade::detail
