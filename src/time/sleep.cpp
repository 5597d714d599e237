// sleep/sleep_until, now(), advance(): the task-facing side of the time
// driver.

#include "runtime/driver.hpp"
#include "time/time_driver.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/wait_info.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/clock.hpp>
#include <brigade/time/sleep.hpp>

#include <cstddef>
#include <stdexcept>

namespace brigade {

namespace detail {

time_driver& current_time_driver() {
  scheduler* s = current_scheduler();
  if (s == nullptr) throw_outside_runtime("brigade time functions");
  return s->get_driver().time();
}

std::chrono::steady_clock::time_point driver_now(time_driver& d) noexcept { return d.now(); }

bool timer_register(time_driver& d, timer_entry& e, task_header* task,
                    std::chrono::steady_clock::time_point deadline) {
  bool wake_driver = false;
  if (!d.register_timer(e, task, deadline, wake_driver)) return false;
  // The driver sleeps until a later deadline: make it recompute.
  if (wake_driver) task->sched_->get_driver().unpark();
  return true;
}

bool timer_cancel(time_driver& d, timer_entry& e) noexcept { return d.cancel(e); }

}  // namespace detail

time_point now() noexcept {
  detail::scheduler* s = detail::current_scheduler();
  if (s == nullptr) return std::chrono::steady_clock::now();
  return s->get_driver().time().now();
}

task<> advance(duration d) {
  detail::time_driver& td = detail::current_time_driver();
  if (!td.is_paused()) {
    throw std::logic_error("brigade::advance: the runtime's clock is not paused");
  }
  td.advance(d);
  td.fire_due();
  co_await yield_now();
}

sleep_awaiter sleep(duration d) noexcept { return sleep_awaiter{now() + d}; }

sleep_awaiter::~sleep_awaiter() {
  // Registered only when the waiting frame is destroyed (runtime shutdown).
  if (driver_ != nullptr) detail::timer_cancel(*driver_, entry_);
}

bool sleep_awaiter::await_ready() const noexcept {
  return deadline_ <= now() && detail::consume_budget();
}

bool sleep_awaiter::await_suspend(std::coroutine_handle<> self) {
  detail::task_header* me = detail::current_task();
  if (me == nullptr) detail::throw_outside_runtime("brigade::sleep");
  if (me->is_cancelled()) {
    withdrawn_ = true;
    return false;
  }
  detail::time_driver& td = detail::current_time_driver();
  detail::set_wait(me, detail::wait_kind::sleep, deadline_);
  node_.poll = &poll;
  node_.handle = self;
  me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
  if (!detail::timer_register(td, entry_, me, deadline_)) {
    if (deadline_ <= td.now()) {
      // Due already (budget was spent in await_ready): yield once.
      me->resume_ = reinterpret_cast<std::uintptr_t>(self.address());
      me->wake_by_ref();
      return true;
    }
    return false;
  }
  driver_ = &td;
  return true;
}

bool sleep_awaiter::poll(detail::wait_node* node, bool cancel) noexcept {
  auto* self = reinterpret_cast<sleep_awaiter*>(node);
  // acquire: pairs with the release in time_driver::fire_due.
  if (self->entry_.state_.load(detail::memory_order_acquire) == detail::timer_entry::state::fired) {
    self->driver_ = nullptr;
    return true;
  }
  if (!cancel) return false;
  if (detail::timer_cancel(*self->driver_, self->entry_)) self->withdrawn_ = true;
  self->driver_ = nullptr;
  return true;  // withdrawn, or fired meanwhile (then the sleep completed)
}

void sleep_awaiter::await_resume() const {
  if (withdrawn_) throw cancelled{};
}

}  // namespace brigade
