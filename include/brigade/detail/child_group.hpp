#pragma once
// The children of one when_all / when_any.
//
// Each child is spawned as its own task on the parent's scheduler (its header
// is already inside its frame, so this allocates nothing beyond the frames
// and one slot per child in the awaiting frame) and runs concurrently: on a
// multi_thread runtime, in parallel. The group is each child's completion
// listener.
//
// Protocol
//   1. prepare(): every child is prepared (SPAWNED, a reference for the
//      group, the listener registered) before any is scheduled, so a child
//      that completes at once already sees the whole group (abort_others).
//   2. wait(): the awaiter records the parent and takes a reference for the
//      wake, then schedules the children (in a seeded random order), then
//      suspends. parent_ is therefore written before any child can complete.
//   3. Each completion (any thread): when_any's first completion wins and
//      aborts the others; when_all's first failure aborts the others. Then
//      remaining_ is decremented; the last child sets done_ (its last touch
//      of the group, which lives in the parent's frame) and wakes the parent.
//   4. The parent's poll is ready only on done_. A parent cancelled meanwhile
//      aborts every child and still waits for done_: no child outlives the
//      await (structured concurrency).

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/random.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/spawned_result.hpp>
#include <brigade/detail/wait_info.hpp>
#include <brigade/task.hpp>

#include <coroutine>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <utility>

namespace brigade::detail {

class child_group;

struct child_slot {
  completion_listener listener;  // first member: a listener* is a slot*
  child_group* group = nullptr;
  task_header* task = nullptr;
  std::size_t index = 0;
  bool observed = false;  // its result was taken (or will be rethrown)
};

class child_group {
 public:
  enum class mode : std::uint8_t { all, any };
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  child_group(mode m, std::span<child_slot> slots) noexcept : mode_(m), slots_(slots) {}
  child_group(const child_group&) = delete;
  child_group& operator=(const child_group&) = delete;
  ~child_group() { release_children(); }

  /// Takes ownership of `t` as child number `index` (step 1).
  template <class T>
  void prepare(std::size_t index, task<T>& t, scheduler& sched, const source_location& loc) {
    if (!t.valid()) throw std::invalid_argument("brigade::when_all/when_any: empty task");
    task_header* h = task_header::from_frame(t.release().address());
    prepare_spawn(h, sched, {}, loc, join_kind::joined);
    child_slot& s = slots_[index];
    s.listener.on_complete = &on_child_complete;
    s.group = this;
    s.task = h;
    s.index = index;
    h->joiner_ = reinterpret_cast<std::uintptr_t>(&s.listener) | 1u;
    // relaxed: published to other threads by the scheduler's queue push.
    h->state_.fetch_or(task_header::join_waker, memory_order_relaxed);
    ++prepared_;
  }

  class awaiter {
   public:
    explicit awaiter(child_group& g) noexcept : g_(g) {}
    bool await_ready() const noexcept { return g_.prepared_ == 0; }
    bool await_suspend(std::coroutine_handle<> self) { return g_.start(self); }
    void await_resume() const {
      if (g_.parent_cancelled_) throw cancelled{};
    }

   private:
    child_group& g_;
  };

  /// Starts the children and waits until every one completed (steps 2-4).
  /// Cancellation: cancellable; aborts every child, waits for them, throws
  /// brigade::cancelled.
  awaiter wait() noexcept { return awaiter{*this}; }

  /// when_any: the winner's index; when_all: the first failed child's, or none.
  std::size_t decided() const noexcept { return decided_.load(memory_order_acquire); }

  /// Child i's result (its value, or its exception rethrown). Once per child.
  template <class T>
  decltype(auto) take(std::size_t i) {
    slots_[i].observed = true;
    task_header* h = slots_[i].task;
    return take_spawned_result<T>(h);
  }

  /// Child i's exception, moved out (null when it succeeded); once per
  /// child, to rethrow it. Moved so that the header, which another worker
  /// may free later, no longer shares the exception with the caller.
  std::exception_ptr take_exception_of(std::size_t i) noexcept {
    task_header* h = slots_[i].task;
    if (h->state_.load(memory_order_acquire) & task_header::frame_gone) {
      return std::make_exception_ptr(cancelled{});
    }
    return std::exchange(h->exception_, nullptr);
  }

  /// Whether child i ended cancelled: its exception is brigade::cancelled,
  /// or its frame was destroyed before it finished. After wait().
  bool ended_cancelled(std::size_t i) const noexcept {
    task_header* h = slots_[i].task;
    if (h->state_.load(memory_order_acquire) & task_header::frame_gone) return true;
    return h->exception_ && is_cancellation(h->exception_);
  }

  /// Marks child i's outcome as seen (a failure that will be rethrown).
  void observe(std::size_t i) noexcept { slots_[i].observed = true; }

  /// Reports the failures that will not be rethrown, then drops the group's
  /// references (the children's frames go with them).
  void release_children() noexcept {
    for (std::size_t i = 0; i < prepared_; ++i) {
      child_slot& s = slots_[i];
      if (s.task == nullptr) continue;
      task_header* h = std::exchange(s.task, nullptr);
      if (!h->is_complete()) {
        // Only at runtime shutdown, when this frame is destroyed first:
        // withdraw the listener so the child never calls into a dead frame.
        h->unset_join_waker();
        h->abort();
      }
      h->drop_join_interest(s.observed);
    }
    prepared_ = 0;
  }

 private:
  bool start(std::coroutine_handle<> self) {
    task_header* me = current_task();
    if (me == nullptr) throw std::logic_error("brigade::when_all/when_any awaited outside a task");
    remaining_.store(prepared_, memory_order_relaxed);
    parent_ = me;
    set_wait(me, wait_kind::child, this);
    node_.poll = &poll;
    node_.handle = self;
    me->add_ref();  // consumed by the last child's wake
    me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
    // Seeded random start order: which child starts first is a choice the
    // runtime makes, so BRIGADE_SEED must replay it.
    const std::size_t n = prepared_;
    const std::size_t first = n > 1 ? static_cast<std::size_t>(random_below(n)) : 0;
    for (std::size_t k = 0; k < n; ++k) {
      task_header* h = slots_[(first + k) % n].task;
      h->sched_->spawn(h);
    }
    return true;
  }

  static bool poll(wait_node* node, bool cancel) noexcept {
    auto* g = reinterpret_cast<child_group*>(reinterpret_cast<char*>(node) -
                                             offsetof(child_group, node_));
    if (g->done_.load(memory_order_acquire)) return true;
    if (cancel && !g->parent_cancelled_) {
      g->parent_cancelled_ = true;
      for (std::size_t i = 0; i < g->prepared_; ++i) g->slots_[i].task->abort();
    }
    return false;
  }

  static void on_child_complete(completion_listener* l, task_header* child) noexcept {
    auto* s = reinterpret_cast<child_slot*>(l);
    child_group* g = s->group;
    bool decide = g->mode_ == mode::any;
    if (!decide && child->exception_ &&
        (child->state_.load(memory_order_relaxed) & task_header::frame_gone) == 0) {
      decide = !is_cancellation(child->exception_);
    }
    if (decide) {
      std::size_t expected = none;
      if (g->decided_.compare_exchange_strong(expected, s->index, memory_order_acq_rel)) {
        for (std::size_t i = 0; i < g->prepared_; ++i) {
          if (i != s->index) g->slots_[i].task->abort();
        }
      }
    }
    task_header* parent = g->parent_;
    // acq_rel: the last decrement sees every child's completion.
    if (g->remaining_.fetch_sub(1, memory_order_acq_rel) == 1) {
      g->done_.store(true, memory_order_release);  // last touch of the group
      parent->wake_by_val();
    }
  }

  static bool is_cancellation(const std::exception_ptr& e) noexcept {
    try {
      std::rethrow_exception(e);
    } catch (const cancelled&) {
      return true;
    } catch (...) {
      return false;
    }
  }

  wait_node node_;  // first member: poll() recovers the group from it
  mode mode_;
  std::span<child_slot> slots_;
  std::size_t prepared_ = 0;
  task_header* parent_ = nullptr;
  bool parent_cancelled_ = false;
  atomic<std::size_t> remaining_{0};
  atomic<std::size_t> decided_{none};
  atomic<bool> done_{false};
};

}  // namespace brigade::detail
