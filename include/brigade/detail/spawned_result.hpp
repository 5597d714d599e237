#pragma once
// Taking a completed spawned task's result (join_handle, when_all/when_any,
// task_group, uncancellable): from the result stash when the frame was
// released at completion (task.hpp: result_stash), from the promise when the
// frame is still there (a value whose move may throw).

#include <brigade/cancelled.hpp>
#include <brigade/detail/task_header.hpp>
#include <brigade/task.hpp>

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

namespace brigade::detail {

/// The result of the completed spawned task `h`: its value (moved out, once),
/// or its exception rethrown; brigade::cancelled when its frame was destroyed
/// before it finished (runtime shutdown). The caller holds a reference.
template <class T>
T take_spawned_result(task_header* h) {
  // acquire: pairs with the acq_rel in transition_to_complete: the stash,
  // the exception and the value written by the task are visible.
  const std::uint64_t s = h->state_.load(memory_order_acquire);
  if ((s & task_header::frame_gone) != 0) throw cancelled{};
  if ((s & task_header::frame_released) == 0) {
    return std::coroutine_handle<task_promise<T>>::from_address(h->frame()).promise().take_result();
  }
  // Moved out: the caller's thread then owns the exception alone, and the
  // header, which another worker may free later, no longer shares it (its
  // count is an atomic that ThreadSanitizer cannot see in libstdc++).
  if (h->exception_) std::rethrow_exception(std::exchange(h->exception_, nullptr));
  if constexpr (std::is_void_v<T>) {
    return;
  } else if constexpr (std::is_reference_v<T>) {
    return *result_stash<std::remove_reference_t<T>*>::take(h);
  } else {
    return result_stash<T>::take(h);
  }
}

}  // namespace brigade::detail
