#include "runtime/driver.hpp"
#include "time/time_driver.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/wait_info.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/timer.hpp>

#include <stdexcept>

namespace brigade {

timer::~timer() {
  std::lock_guard lock(mutex_);
  if (waiting_ && driver_ != nullptr) detail::timer_cancel(*driver_, entry_);
}

void timer::reset(time_point deadline) {
  std::lock_guard lock(mutex_);
  deadline_ = deadline;
  if (!waiting_ || driver_ == nullptr) return;
  bool wake_driver = false;
  driver_->reset(entry_, deadline, wake_driver);
  if (wake_driver) sched_->get_driver().unpark();
}

time_point timer::deadline() const {
  std::lock_guard lock(mutex_);
  return deadline_;
}

bool timer::wait_awaiter::await_ready() const noexcept {
  return owner_.deadline() <= brigade::now() && detail::consume_budget();
}

bool timer::wait_awaiter::await_suspend(std::coroutine_handle<> self) {
  detail::task_header* me = detail::current_task();
  if (me == nullptr) detail::throw_outside_runtime("brigade::timer::wait");
  if (me->is_cancelled()) {
    withdrawn_ = true;
    return false;
  }
  detail::time_driver& td = detail::current_time_driver();
  std::lock_guard lock(owner_.mutex_);
  if (owner_.waiting_) throw std::logic_error("brigade::timer: already awaited by another task");
  detail::set_wait(me, detail::wait_kind::timer, owner_.deadline_);
  node_.poll = &poll;
  node_.handle = self;
  me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
  if (!detail::timer_register(td, owner_.entry_, me, owner_.deadline_)) {
    me->resume_ = reinterpret_cast<std::uintptr_t>(self.address());
    me->wake_by_ref();  // due already: yield once (budget), then complete
    return true;
  }
  owner_.driver_ = &td;
  owner_.sched_ = me->sched_;
  owner_.waiting_ = true;
  return true;
}

bool timer::wait_awaiter::poll(detail::wait_node* node, bool cancel) noexcept {
  auto* self = reinterpret_cast<wait_awaiter*>(node);
  timer& t = self->owner_;
  // acquire: pairs with the release in time_driver::fire_due / reset.
  const bool fired =
      t.entry_.state_.load(detail::memory_order_acquire) == detail::timer_entry::state::fired;
  if (!fired && !cancel) return false;
  std::lock_guard lock(t.mutex_);
  if (!fired && detail::timer_cancel(*t.driver_, t.entry_)) self->withdrawn_ = true;
  t.waiting_ = false;
  t.driver_ = nullptr;
  return true;
}

void timer::wait_awaiter::await_resume() const {
  if (withdrawn_) throw cancelled{};
}

}  // namespace brigade
