#pragma once
// Every live spawned task of a scheduler, so that shutdown can find and
// destroy the ones that wait on something that will never happen (Tokio's
// OwnedTasks). A vector of pointers with the index kept in the header:
// O(1) insert and remove, 4 bytes per task in the header, no links.
// Not synchronised: the scheduler says who may touch it.

#include <brigade/detail/task_header.hpp>

#include <cassert>
#include <string>
#include <vector>

namespace brigade::detail {

class task_registry {
 public:
  void insert(task_header* t) {
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
};

}  // namespace brigade::detail
