#pragma once
// One shard of the multi_thread registry (runtime/task_registry.hpp): the
// live tasks spawned on one worker, under a spin lock, plus a lock-free list
// of the ones that completed on another worker, which whoever next holds the
// lock takes out in one batch.
//
// Why the list: every spawned task enters the registry at spawn and leaves
// it at completion. When a stolen task completes on the thief, leaving
// meant taking the spawner's lock (its cache line moves to the thief and
// back), and the swap-remove writes the index into a second task's header.
// That was the largest single cost of multi_thread spawn+join.
//
// Protocol
//   1. A task completes on its shard's own worker, or on a thread that is
//      not a worker: lock, remove, unlock, drop the scheduler's reference.
//   2. It completes on another worker: push it on remote_done_ (a Treiber
//      push linked through next_, which no queue uses once a task is
//      complete), keeping the scheduler's reference: one CAS.
//   3. Whoever next holds the lock to read the vector (metrics, dump_tasks,
//      shutdown), the owner about to park, and the owner at every
//      settle_interval-th spawn or completion first takes the whole list
//      with one exchange and removes those tasks; their references are
//      dropped after unlocking. Not at every spawn: the list's line is
//      written by the other workers, so reading it costs the spawner a
//      cache miss per task (15% of a 10^6-task spawn+join profile went to
//      register_task).
//   A completed task thus stays in the vector, its block alive, until step
//   3; every reader of the vector runs step 3 first, so none sees it.

#include "runtime/task_registry.hpp"

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/sync/detail/waiter.hpp>

#include <cstdint>
#include <mutex>

namespace brigade::detail {

class alignas(64) registry_shard {
 public:
  explicit registry_shard(std::uint32_t shard) noexcept : tasks_(shard) {}
  registry_shard(const registry_shard&) = delete;
  registry_shard& operator=(const registry_shard&) = delete;

  /// Registers a new task; false when the registry cannot grow.
  bool insert(task_header* t) noexcept {
    task_header* settled = nullptr;
    bool ok = true;
    {
      std::lock_guard lock(mutex_);
      settled = settle_now() ? settle_locked() : nullptr;
      try {
        tasks_.insert(t);
      } catch (...) {
        ok = false;
      }
    }
    release_all(settled);
    return ok;
  }

  /// Step 1: `t` completed on this shard's worker (or off the workers).
  void remove_completed(task_header* t) noexcept {
    task_header* settled = nullptr;
    {
      std::lock_guard lock(mutex_);
      settled = settle_now() ? settle_locked() : nullptr;
      tasks_.remove(t);
    }
    t->release();
    release_all(settled);
  }

  /// Step 2: `t` completed on another worker.
  void push_remote(task_header* t) noexcept {
    task_header* head = remote_done_.load(memory_order_relaxed);
    do {
      t->next_ = head;
      // release: publishes next_ (and the completed task) to the settler.
    } while (
        !remote_done_.compare_exchange_weak(head, t, memory_order_release, memory_order_relaxed));
  }

  /// Step 3 alone (the owner before it parks): nothing completed elsewhere
  /// keeps its block alive while this worker sleeps.
  void settle() noexcept {
    if (remote_done_.load(memory_order_relaxed) == nullptr) return;
    task_header* settled = nullptr;
    {
      std::lock_guard lock(mutex_);
      settled = settle_locked();
    }
    release_all(settled);
  }

  /// Runs `f(task_registry&)` under the lock, after step 3.
  template <class F>
  decltype(auto) with_tasks(F&& f) {
    struct releaser {
      task_header* list = nullptr;
      ~releaser() { release_all(list); }
    } settled;
    std::lock_guard lock(mutex_);
    settled.list = settle_locked();
    return f(tasks_);
  }

 private:
  /// Step 3 on the owner's own spawns and completions.
  static constexpr std::uint32_t settle_interval = 64;

  /// Under the lock: whether this spawn or completion settles (step 3).
  bool settle_now() noexcept { return ++ops_ % settle_interval == 0; }

  /// Under the lock: takes the remote list and removes its tasks from the
  /// vector; returns the list, whose references the caller drops unlocked.
  task_header* settle_locked() noexcept {
    if (remote_done_.load(memory_order_relaxed) == nullptr) return nullptr;
    // acquire: pairs with push_remote's release (next_ links).
    task_header* list = remote_done_.exchange(nullptr, memory_order_acquire);
    for (task_header* t = list; t != nullptr; t = t->next_) tasks_.remove(t);
    return list;
  }

  static void release_all(task_header* list) noexcept {
    while (list != nullptr) {
      task_header* next = list->next_;
      list->release();
      list = next;
    }
  }

  spin_lock mutex_;
  task_registry tasks_;
  std::uint32_t ops_ = 0;  // guarded by mutex_
  // A line of its own: the other workers' pushes do not take the owner's
  // lock and vector away from it.
  alignas(64) atomic<task_header*> remote_done_{nullptr};
};

}  // namespace brigade::detail
