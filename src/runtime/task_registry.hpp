#pragma once
// Every live spawned task of a scheduler, so that shutdown can find and
// destroy the ones that wait on something that will never happen (Tokio's
// OwnedTasks). A vector of pointers with the position kept in the header:
// O(1) insert and remove, 4 bytes per task in the header, no links.
//
// The header's registry_slot_ packs the shard (bits 26..31, set once at
// insert) and the position within the shard (bits 0..25, changed under the
// owner's lock when another task is removed). A sharded registry
// (multi_thread: one shard per worker, each under its own lock) reads the
// shard of a task that completes on another worker with a relaxed load: the
// shard bits never change after insert, so no lock is needed for them.
// Not synchronised otherwise: the scheduler says who may touch it.

#include <brigade/detail/task_header.hpp>

#include <cassert>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace brigade::detail {

class task_registry {
 public:
  static constexpr int shard_shift = 26;
  static constexpr std::uint32_t index_mask = (std::uint32_t{1} << shard_shift) - 1;
  static constexpr std::uint32_t max_shards = 64;  // the 6 bits above shard_shift
  /// Live tasks per shard (an index of all ones means "not registered").
  static constexpr std::size_t max_tasks = index_mask - 1;

  explicit task_registry(std::uint32_t shard = 0) noexcept : shard_(shard) {}

  static std::uint32_t shard_of(const task_header* t) noexcept {
    // relaxed: the shard bits are written once, before the task is shared.
    return t->registry_slot_.load(memory_order_relaxed) >> shard_shift;
  }
  /// Whether `t` is in some registry. Under the lock of its shard (or on
  /// the only thread that touches the registry).
  static bool is_registered(const task_header* t) noexcept {
    return (t->registry_slot_.load(memory_order_relaxed) & index_mask) != index_mask;
  }

  /// Throws std::length_error past max_tasks, std::bad_alloc.
  void insert(task_header* t) {
    if (tasks_.size() >= max_tasks) throw std::length_error("brigade: too many live tasks");
    tasks_.push_back(t);
    set_index(t, static_cast<std::uint32_t>(tasks_.size() - 1));
  }

  void remove(task_header* t) noexcept {
    const std::uint32_t i = t->registry_slot_.load(memory_order_relaxed) & index_mask;
    assert(i < tasks_.size() && tasks_[i] == t);
    task_header* last = tasks_.back();
    tasks_[i] = last;
    set_index(last, i);
    tasks_.pop_back();
    set_index(t, index_mask);  // keeps the shard bits: shard_of stays valid
  }

  bool empty() const noexcept { return tasks_.empty(); }
  std::size_t size() const noexcept { return tasks_.size(); }
  task_header* back() const noexcept { return tasks_.back(); }

  /// One line per task (dump_tasks): address (the task's id while it
  /// lives), name, spawn location, state and, for a waiting task, where it
  /// waits; deadlines relative to `now` (the runtime's clock).
  std::string describe(std::chrono::steady_clock::time_point now) const;

 private:
  void set_index(task_header* t, std::uint32_t index) const noexcept {
    // relaxed: readers of the index hold this shard's lock.
    t->registry_slot_.store((shard_ << shard_shift) | index, memory_order_relaxed);
  }

  std::vector<task_header*> tasks_;
  std::uint32_t shard_;
};

}  // namespace brigade::detail
