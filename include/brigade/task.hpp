#pragma once
// brigade::task<T>: the lazy coroutine type.
//
// A task does nothing until it is awaited (`co_await t`) or spawned
// (`brigade::spawn(t)`). Awaiting resumes it by symmetric transfer and its
// completion transfers straight back to the awaiter, so a chain of a million
// nested co_awaits uses no stack and no run queue. Its result, or the
// exception it threw, is delivered at the co_await.
//
// Frames are allocated with a task_header in front (one block) from a
// per-thread size-class free list; see detail/frame_allocator.hpp.

#include <brigade/detail/context.hpp>
#include <brigade/detail/frame_allocator.hpp>
#include <brigade/detail/task_header.hpp>

#include <cassert>
#include <coroutine>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace brigade {

template <class T = void>
class task;

namespace detail {

/// The frame most recently allocated on this thread and not yet claimed by
/// its promise. A promise whose frame is not this one was not allocated by
/// operator new: the compiler elided the allocation (clang does, at -O1 and
/// up, for a task awaited in its caller's scope) and placed the frame inside
/// the caller's. Such a frame has no task_header in front of it.
inline thread_local constinit void* tl_unclaimed_frame = nullptr;

struct promise_base {
  static void* operator new(std::size_t frame_size) { return allocate_frame(frame_size, 0); }
  /// One block: the header, the frame, and `extra` bytes after it (the
  /// result stash of a task_promise<T>).
  static void* allocate_frame(std::size_t frame_size, std::size_t extra) {
    void* block = allocate_block(frame_size + extra + task_header::prefix_size);
    auto* header = ::new (block) task_header;
    header->frame_size_ = static_cast<std::uint32_t>(frame_size + extra);
    tl_unclaimed_frame = header->frame();
    return header->frame();
  }
  static void operator delete(void* frame, std::size_t) noexcept {
    task_header* header = task_header::from_frame(frame);
    // A spawned task's block is freed by its last reference (the header may
    // outlive the frame); an awaited task's block goes with its frame.
    if ((header->state_.load(memory_order_relaxed) & task_header::spawned) == 0) {
      free_task_block(header);
    }
  }

  /// Called by the derived promise's constructor with its frame address.
  void claim_frame(void* frame) noexcept {
    if (tl_unclaimed_frame == frame) {
      tl_unclaimed_frame = nullptr;
      continuation_ = prefixed;
    }
  }

  /// The header in front of the frame, or null when the frame was elided
  /// into its caller's (then the task cannot have been spawned).
  task_header* prefix_header(void* frame) const noexcept {
    return (continuation_ & prefixed) != 0 ? task_header::from_frame(frame) : nullptr;
  }

  /// The spawned task's header, or null for an awaited task.
  task_header* spawned_header(void* frame) const noexcept {
    task_header* h = prefix_header(frame);
    // relaxed: SPAWNED is written before the task is published to a queue,
    // and this thread took it from that queue (or spawned it).
    if (h != nullptr && (h->state_.load(memory_order_relaxed) & task_header::spawned) != 0) {
      return h;
    }
    return nullptr;
  }

  /// Where the task's exception lives: the header for a spawned task (the
  /// scheduler reports it from there), the promise otherwise.
  std::exception_ptr& exception_slot(void* frame) noexcept {
    if (task_header* h = spawned_header(frame)) return h->exception_;
    return exception_;
  }

  void set_continuation(std::coroutine_handle<> awaiting) noexcept {
    continuation_ =
        reinterpret_cast<std::uintptr_t>(awaiting.address()) | (continuation_ & prefixed);
  }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      promise_base& p = self.promise();
      if (task_header* h = p.spawned_header(self.address())) {
        // Move the value to the stash so the worker can destroy the frame
        // (and the task's parameters) now rather than when the result is
        // taken. A value whose move may throw stays in the frame.
        bool release = true;
        if constexpr (requires { self.promise().stash(h); }) release = self.promise().stash(h);
        // Set with COMPLETE by the worker (run_task), in the same RMW.
        if (release) tl_context.completion_bits |= task_header::frame_released;
        return std::noop_coroutine();  // the worker completes the task
      }
      const std::uintptr_t next = p.continuation_ & ~prefixed;
      // No continuation: the task was resumed by hand (not awaited).
      if (next == 0) return std::noop_coroutine();
      return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(next));
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }

  /// The awaiting coroutine's address, bit 0 set when the frame has a
  /// header in front (see claim_frame). Coroutine frames are at least
  /// 2-aligned, so bit 0 is free.
  std::uintptr_t continuation_ = 0;
  std::exception_ptr exception_;  // awaited tasks only

 private:
  static constexpr std::uintptr_t prefixed = 1;
};

/// A spawned task's result, moved out of its frame at final suspend so that
/// the frame is destroyed at completion. It lives at the end of the task's
/// block: [ header | frame | pad | V value | destructor ]; the extra bytes
/// are allocated with every task_promise<T> frame (awaited ones leave them
/// unused). V is T, or T* for task<T&>.
template <class V>
struct result_stash {
  static_assert(alignof(V) <= 16, "the frame is only 16-aligned");
  static constexpr std::size_t value_bytes = (sizeof(V) + 7) & ~std::size_t{7};
  static constexpr std::size_t extra(std::size_t frame_size) noexcept {
    constexpr std::size_t a = alignof(V) < 8 ? 8 : alignof(V);
    const std::size_t start = (frame_size + a - 1) & ~(a - 1);
    return start - frame_size + value_bytes + sizeof(task_header::stash_dtor);
  }
  static V* at(task_header* h) noexcept {
    return std::launder(reinterpret_cast<V*>(static_cast<char*>(h->frame()) + h->frame_size_ -
                                             sizeof(task_header::stash_dtor) - value_bytes));
  }
  static void destroy(task_header* h) noexcept { std::destroy_at(at(h)); }

  /// Moves `value` into h's stash. Non-trivially destructible values set
  /// RESULT_STASHED so that a stash never taken is destroyed by release().
  static void put(task_header* h, V&& value) noexcept {
    ::new (static_cast<void*>(at(h))) V(std::move(value));
    if constexpr (!std::is_trivially_destructible_v<V>) {
      h->stash_destructor() = &destroy;
      tl_context.completion_bits |= task_header::result_stashed;  // set with COMPLETE
    }
  }
  /// Moves the value out and ends the stash's lifetime.
  static V take(task_header* h) noexcept {
    V* p = at(h);
    V v = std::move(*p);
    if constexpr (!std::is_trivially_destructible_v<V>) {
      std::destroy_at(p);
      // relaxed: release() runs after the joiner's last fetch_sub (acq_rel).
      h->state_.fetch_and(~task_header::result_stashed, memory_order_relaxed);
    }
    return v;
  }
};

template <class T>
struct task_promise : promise_base {
  static void* operator new(std::size_t frame_size) {
    return allocate_frame(frame_size, result_stash<T>::extra(frame_size));
  }
  static void operator delete(void* frame, std::size_t size) noexcept {
    promise_base::operator delete(frame, size);
  }
  task_promise() noexcept { claim_frame(frame()); }
  task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept { exception_slot(frame()) = std::current_exception(); }

  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));
  }

  void* frame() noexcept {
    return std::coroutine_handle<task_promise>::from_promise(*this).address();
  }
  /// The result: rethrows the task's exception. Moves the value out.
  T take_result() {
    if (std::exception_ptr& e = exception_slot(frame()))
      std::rethrow_exception(std::exchange(e, nullptr));
    return std::move(*value_);
  }
  /// Final suspend of a spawned task: moves the value to the stash. Returns
  /// whether the frame may be destroyed now.
  bool stash(task_header* h) noexcept {
    if constexpr (!std::is_nothrow_move_constructible_v<T>) {
      return false;
    } else {
      if (value_.has_value()) {
        result_stash<T>::put(h, std::move(*value_));
        value_.reset();
      }
      return true;
    }
  }

  std::optional<T> value_;
};

template <class T>
struct task_promise<T&> : promise_base {
  static void* operator new(std::size_t frame_size) {
    return allocate_frame(frame_size, result_stash<T*>::extra(frame_size));
  }
  static void operator delete(void* frame, std::size_t size) noexcept {
    promise_base::operator delete(frame, size);
  }
  task_promise() noexcept { claim_frame(frame()); }
  task<T&> get_return_object() noexcept;
  void unhandled_exception() noexcept { exception_slot(frame()) = std::current_exception(); }
  void return_value(T& value) noexcept { value_ = std::addressof(value); }
  void* frame() noexcept {
    return std::coroutine_handle<task_promise>::from_promise(*this).address();
  }
  T& take_result() {
    if (std::exception_ptr& e = exception_slot(frame()))
      std::rethrow_exception(std::exchange(e, nullptr));
    return *value_;
  }
  bool stash(task_header* h) noexcept {
    if (value_ != nullptr) result_stash<T*>::put(h, std::move(value_));
    return true;
  }
  T* value_ = nullptr;
};

template <>
struct task_promise<void> : promise_base {
  task_promise() noexcept { claim_frame(frame()); }
  task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { exception_slot(frame()) = std::current_exception(); }
  void return_void() noexcept {}
  void* frame() noexcept {
    return std::coroutine_handle<task_promise>::from_promise(*this).address();
  }
  void take_result() {
    if (std::exception_ptr& e = exception_slot(frame()))
      std::rethrow_exception(std::exchange(e, nullptr));
  }
};

}  // namespace detail

/// A lazy coroutine producing a T (or nothing, for task<>).
///
/// Owns its frame: destroying a task that never ran destroys the frame. Move
/// only. Await it once (`co_await std::move(t)` or `co_await t`), or hand it
/// to brigade::spawn / when_all / block_on, which take ownership.
///
/// Resumes on: the thread that completed the task, which is the thread that
/// awaited it unless the task suspended and was woken elsewhere.
/// Cancellation: awaiting a task is not itself a suspension point; the task's
/// own awaits are, and a cancellation of the enclosing spawned task is
/// delivered there.
/// Throws: whatever the task threw, rethrown at the co_await.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~task() {
    if (handle_) handle_.destroy();
  }

  /// True when this task holds a coroutine (not moved from, not consumed).
  bool valid() const noexcept { return static_cast<bool>(handle_); }

  struct awaiter {
    std::coroutine_handle<promise_type> handle;

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      handle.promise().set_continuation(awaiting);
      return handle;  // symmetric transfer: start the task without recursion
    }
    decltype(auto) await_resume() { return handle.promise().take_result(); }
  };

  /// Starts the task and waits for it. The task must be valid.
  awaiter operator co_await() & noexcept {
    assert(handle_ && "co_await on an empty brigade::task");
    return awaiter{handle_};
  }
  awaiter operator co_await() && noexcept {
    assert(handle_ && "co_await on an empty brigade::task");
    return awaiter{handle_};
  }

  /// Gives up ownership of the frame (used by spawn). The task becomes empty.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

 private:
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
  return task<T&>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
}  // namespace detail

}  // namespace brigade
