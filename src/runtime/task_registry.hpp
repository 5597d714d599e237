#pragma once
// Every live spawned task of a scheduler, so that shutdown can find and
// destroy the ones that wait on something that will never happen (Tokio's
// OwnedTasks). A vector of pointers with the position kept in the header:
// O(1) insert and remove, 4 bytes per task in the header, no links.
//
// registry_index_ is the position (changed under the owner's lock when
// another task is removed); registry_shard_ is set once at insert, so a
// sharded registry (multi_thread: one shard per worker, each under its own
// lock) finds the shard of a task that completes on another worker without
// reading a field someone else may be writing.
// Not synchronised: the scheduler says who may touch it.

#include <brigade/detail/task_header.hpp>

#include <cassert>
#include <stdexcept>
#include <string>
#include <vector>

namespace brigade::detail {

class task_registry {
 public:
  static constexpr std::uint32_t max_shards = 64;
  static constexpr std::size_t max_tasks = task_header::no_index - 1;

  explicit task_registry(std::uint32_t shard = 0) noexcept : shard_(shard) {}

  static std::uint32_t shard_of(const task_header* t) noexcept { return t->registry_shard_; }

  /// Throws std::length_error past max_tasks, std::bad_alloc.
  void insert(task_header* t) {
    if (tasks_.size() >= max_tasks) throw std::length_error("brigade: too many live tasks");
    t->registry_shard_ = shard_;
    t->registry_index_ = static_cast<std::uint32_t>(tasks_.size());
    tasks_.push_back(t);
  }

  void remove(task_header* t) noexcept {
    const std::uint32_t i = t->registry_index_;
    assert(i < tasks_.size() && tasks_[i] == t);
    task_header* last = tasks_.back();
    tasks_[i] = last;
    last->registry_index_ = i;
    tasks_.pop_back();
    t->registry_index_ = task_header::no_index;
  }

  bool empty() const noexcept { return tasks_.empty(); }
  std::size_t size() const noexcept { return tasks_.size(); }
  task_header* back() const noexcept { return tasks_.back(); }

  /// One line per task (dump_tasks).
  std::string describe() const;

 private:
  std::vector<task_header*> tasks_;
  std::uint32_t shard_;
};

}  // namespace brigade::detail
