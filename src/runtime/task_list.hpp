#pragma once
// An intrusive FIFO of task headers linked through task_header::next_.
// Not synchronised: the owner (or the lock that guards it) decides.

#include <brigade/detail/task_header.hpp>

#include <cstddef>

namespace brigade::detail {

class task_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

  void push_back(task_header* t) noexcept {
    t->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = t;
    } else {
      head_ = t;
    }
    tail_ = t;
    ++size_;
  }

  task_header* pop_front() noexcept {
    task_header* t = head_;
    if (t == nullptr) return nullptr;
    head_ = t->next_;
    if (head_ == nullptr) tail_ = nullptr;
    t->next_ = nullptr;
    --size_;
    return t;
  }

  /// Moves every task of `other` to the back of this list.
  void append(task_list& other) noexcept {
    if (other.head_ == nullptr) return;
    if (tail_ != nullptr) {
      tail_->next_ = other.head_;
    } else {
      head_ = other.head_;
    }
    tail_ = other.tail_;
    size_ += other.size_;
    other.head_ = other.tail_ = nullptr;
    other.size_ = 0;
  }

 private:
  task_header* head_ = nullptr;
  task_header* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace brigade::detail
