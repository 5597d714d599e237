#pragma once
// work_count: the fork-join "wait for every piece of work I started".
//
// Used by parallel_for / parallel_reduce (src/parallel/parallel_loop.cpp) and
// by task_graph::run (src/graph/task_graph.cpp). One waiter (a task, or a
// plain thread) waits until every item it added has arrived.
//
// The count
//   count_ starts at 1: the waiter's own share. add(n) before the work is
//   published (spawned); each item calls arrive() exactly once when it is
//   done. The waiter gives up its share when it starts waiting, so the count
//   can only reach zero after the waiter has registered: whoever takes it to
//   zero (the "last arriver") knows exactly whom to wake.
//
// Waking a task (the task_header.hpp protocol)
//   1. wait_awaiter::await_suspend records the node in the task header, takes
//      a reference for the waker and publishes the task in waiter_, then gives
//      up its share. If that made it the last, nobody else will wake it: it
//      takes waiter_ back, drops the reference and does not suspend.
//   2. The last arriver takes waiter_ (exchange), sets done_ (release: its
//      last touch of *this, which may live in the waiting frame) and calls
//      wake_by_val on the task it took (a local copy).
//   3. The worker polls: done_ (acquire) -> resume. A cancel poll only calls
//      the owner's cancel hook (stop starting work) and keeps waiting: no item
//      may outlive the wait (structured concurrency); await_resume then
//      reports that cancellation was requested.
//   4. Runtime shutdown destroys the waiting frame while suspended: the
//      awaiter's destructor takes waiter_ back (exchange) and drops the
//      reference, so the header is freed. (Items are destroyed unrun then,
//      after every worker was joined, so no arriver races with it.)
//
// Waking a thread (blocking forms; parallel_loop only)
//   The thread gives up its share, then futex-waits on done_. The last
//   arriver stores done_ and notifies after the store, so *this must stay
//   alive until the notify returns: only owners that keep it alive for every
//   arriver (parallel_loop holds a reference per item) may use this path.

#include <brigade/cancelled.hpp>
#include <brigade/detail/atomic.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/detail/wait_info.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace brigade::detail {

class work_count {
 public:
  /// Called (on the waiter's worker, from a poll) when the waiting task is
  /// cancelled: the owner stops starting new work.
  using cancel_hook = void (*)(void* ctx) noexcept;

  work_count() noexcept = default;
  work_count(const work_count&) = delete;
  work_count& operator=(const work_count&) = delete;

  /// Announces `n` more items. Call before the items are published.
  void add(std::uint64_t n) noexcept {
    // relaxed: the spawn that publishes the items (a queue push, release)
    // orders this before their arrive().
    count_.fetch_add(n, memory_order_relaxed);
  }

  /// One item finished. The caller must not touch *this afterwards unless
  /// it keeps it alive by other means.
  void arrive() noexcept {
    // acq_rel: the last arriver sees every other item's writes (results)
    // and publishes them, with its own, through done_.
    if (count_.fetch_sub(1, memory_order_acq_rel) == 1) signal();
  }

  /// True once every item arrived (and the waiter gave up its share).
  bool done() const noexcept {
    // acquire: pairs with the release store in signal().
    return done_.load(memory_order_acquire) != 0;
  }

  /// Blocks the calling thread until done (see "Waking a thread").
  void blocking_wait() noexcept {
    if (count_.fetch_sub(1, memory_order_acq_rel) == 1) return;
    // acquire: pairs with the release store in signal().
    while (done_.load(memory_order_acquire) == 0) done_.wait(0, memory_order_acquire);
  }

  /// `co_await wc.wait(hook, ctx)` in a task: suspends until done.
  class wait_awaiter {
   public:
    wait_awaiter(work_count& wc, cancel_hook hook, void* ctx) noexcept
        : wc_(wc), hook_(hook), ctx_(ctx) {}
    wait_awaiter(const wait_awaiter&) = delete;
    wait_awaiter& operator=(const wait_awaiter&) = delete;
    ~wait_awaiter() {
      // Step 4: only when the frame is destroyed while suspended.
      if (registered_ && !wc_.done()) {
        if (task_header* me = wc_.waiter_.exchange(nullptr, memory_order_acq_rel)) me->release();
      }
    }

    bool await_ready() const {
      if (current_task() == nullptr) {
        throw std::logic_error("brigade: parallel work awaited outside a spawned task");
      }
      return false;
    }

    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
      task_header* me = current_task();
      set_wait(me, wait_kind::parallel, this);
      node_.node.poll = &poll;
      node_.node.handle = awaiting;
      node_.owner = this;
      me->resume_ = reinterpret_cast<std::uintptr_t>(&node_.node) | 1u;
      me->add_ref();  // the waker's reference, consumed by the last arriver
      registered_ = true;
      // release: the last arriver's exchange (acq_rel) reads the header.
      wc_.waiter_.store(me, memory_order_release);
      if (me->is_cancelled()) cancel();
      if (wc_.count_.fetch_sub(1, memory_order_acq_rel) != 1) return true;
      // We were last (step 1): nobody will wake us.
      registered_ = false;
      wc_.waiter_.store(nullptr, memory_order_relaxed);
      me->resume_ = 0;
      me->release();
      return false;
    }

    /// True when the waiting task was cancelled while waiting (the owner
    /// decides whether that is an error: every item has finished anyway).
    bool cancel_requested() const noexcept { return cancelled_; }
    void await_resume() const noexcept {}

   private:
    struct owned_node {
      wait_node node;
      wait_awaiter* owner = nullptr;
    };

    void cancel() noexcept {
      if (cancelled_) return;
      cancelled_ = true;
      if (hook_ != nullptr) hook_(ctx_);
    }

    static bool poll(wait_node* node, bool cancel) noexcept {
      wait_awaiter* self = reinterpret_cast<owned_node*>(node)->owner;
      if (self->wc_.done()) {
        self->registered_ = false;  // the last arriver consumed our reference
        return true;
      }
      if (cancel) self->cancel();  // step 3: keep waiting for running items
      return false;
    }

    work_count& wc_;
    cancel_hook hook_;
    void* ctx_;
    owned_node node_{};
    bool registered_ = false;
    bool cancelled_ = false;
  };

  [[nodiscard]] wait_awaiter wait(cancel_hook hook, void* ctx) noexcept {
    return wait_awaiter{*this, hook, ctx};
  }

 private:
  void signal() noexcept {
    // acq_rel: pairs with the release store of waiter_ in await_suspend.
    task_header* waiter = waiter_.exchange(nullptr, memory_order_acq_rel);
    // release: pairs with the acquire in done()/blocking_wait/poll.
    done_.store(1, memory_order_release);
    if (waiter != nullptr) {
      waiter->wake_by_val();
    } else {
      done_.notify_all();  // a blocking waiter, if any (see "Waking a thread")
    }
  }

  atomic<std::uint64_t> count_{1};
  atomic<task_header*> waiter_{nullptr};
  atomic<std::uint32_t> done_{0};
};

}  // namespace brigade::detail
