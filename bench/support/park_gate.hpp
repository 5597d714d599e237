#pragma once
// park_gate: the smallest thing a task can wait on, for measuring what an
// idle task costs.
//
// A parked task keeps nothing but its frame: the awaiter records the
// innermost coroutine in the task header's resume point (the wake protocol
// of detail/task_header.hpp, without a wait_node since a parked task is never
// cancelled), and the gate keeps one pointer per parked task. open() wakes
// every parked task. This stands in for brigade::notify in "bytes per idle
// task waiting on a notify" (PERFORMANCE.md) until that primitive exists.
//
// Thread safety: current_thread runtimes only (the vector is unguarded).
// Open the gate before the runtime shuts down: a parked task holds a
// reference that only open() gives back.

#include <brigade/detail/context.hpp>
#include <brigade/detail/task_header.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace brigade::bench {

class park_gate {
 public:
  /// Reserves room for `expected` tasks, so that parking allocates nothing.
  explicit park_gate(std::size_t expected) { parked_.reserve(expected); }
  park_gate(const park_gate&) = delete;
  park_gate& operator=(const park_gate&) = delete;

  class awaiter {
   public:
    explicit awaiter(park_gate& gate) noexcept : gate_(gate) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> self) {
      detail::task_header* me = detail::current_task();
      if (me == nullptr) throw std::logic_error("park_gate: await inside a spawned task");
      me->resume_ = reinterpret_cast<std::uintptr_t>(self.address());
      me->add_ref();  // the waker's reference, consumed by wake_by_val in open()
      gate_.parked_.push_back(me);
    }
    void await_resume() const noexcept {}

   private:
    park_gate& gate_;
  };

  /// Suspends the current task until open().
  awaiter wait() noexcept { return awaiter{*this}; }

  std::size_t parked() const noexcept { return parked_.size(); }

  /// Wakes every parked task (they run at the runtime's next turns).
  void open() noexcept {
    for (detail::task_header* t : parked_) t->wake_by_val();
    parked_.clear();
  }

 private:
  std::vector<detail::task_header*> parked_;
};

}  // namespace brigade::bench
