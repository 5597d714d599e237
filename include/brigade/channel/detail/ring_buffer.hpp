#pragma once
// A FIFO ring of T over one allocation: the message buffer of the mpsc
// channels. Bounded channels allocate it once at their capacity; unbounded
// ones let it double when full. Not thread-safe: the channel's lock guards it.

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace brigade::detail {

template <class T>
class ring_buffer {
 public:
  ring_buffer() noexcept = default;
  explicit ring_buffer(std::size_t capacity) { reserve_exact(capacity); }
  ring_buffer(const ring_buffer&) = delete;
  ring_buffer& operator=(const ring_buffer&) = delete;
  ring_buffer(ring_buffer&& other) noexcept
      : slots_(std::exchange(other.slots_, nullptr)),
        capacity_(std::exchange(other.capacity_, 0)),
        head_(std::exchange(other.head_, 0)),
        size_(std::exchange(other.size_, 0)) {}
  ring_buffer& operator=(ring_buffer&& other) noexcept {
    if (this != &other) {
      destroy();
      slots_ = std::exchange(other.slots_, nullptr);
      capacity_ = std::exchange(other.capacity_, 0);
      head_ = std::exchange(other.head_, 0);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~ring_buffer() { destroy(); }

  bool empty() const noexcept { return size_ == 0; }
  bool full() const noexcept { return size_ == capacity_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }

  /// Requires !full() (or call grow() first).
  void push_back(T&& value) noexcept {
    ::new (static_cast<void*>(slot(head_ + size_))) T(std::move(value));
    ++size_;
  }

  /// Requires !empty().
  T pop_front() noexcept {
    T* p = slot(head_);
    T value(std::move(*p));
    p->~T();
    head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
    --size_;
    return value;
  }

  /// Doubles the capacity (at least 1 more slot). Throws std::bad_alloc.
  void grow() {
    ring_buffer bigger;
    bigger.reserve_exact(capacity_ == 0 ? 8 : capacity_ * 2);
    while (!empty()) bigger.push_back(pop_front());
    *this = std::move(bigger);
  }

 private:
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "brigade channels need a nothrow move constructor for T");

  void reserve_exact(std::size_t capacity) {
    slots_ = static_cast<T*>(::operator new (capacity * sizeof(T), std::align_val_t{alignof(T)}));
    capacity_ = capacity;
  }
  T* slot(std::size_t index) noexcept {
    return slots_ + (index >= capacity_ ? index - capacity_ : index);
  }
  void destroy() noexcept {
    while (!empty()) pop_front();
    if (slots_ != nullptr) ::operator delete (slots_, std::align_val_t{alignof(T)});
    slots_ = nullptr;
    capacity_ = 0;
  }

  T* slots_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace brigade::detail
