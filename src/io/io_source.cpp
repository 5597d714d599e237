// readiness_awaiter and io_registration: the task side of the readiness
// protocol (detail/io_registration.hpp), shared by both backends.

#include "io/io_source.hpp"

#include "io/driver.hpp"
#include "runtime/driver.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/scheduler.hpp>
#include <brigade/detail/sys.hpp>
#include <brigade/detail/wait_info.hpp>

#include <stdexcept>
#include <string>

namespace brigade::detail {

namespace {

int index(io_interest i) noexcept { return static_cast<int>(i); }

}  // namespace

std::shared_ptr<reactor> current_reactor(const char* what) {
  scheduler* s = current_scheduler();
  if (s == nullptr) throw_outside_runtime(what);
  return s->get_driver().io().core();
}

// ---- readiness_awaiter ----

readiness_awaiter::~readiness_awaiter() {
  // relaxed: only this thread links; a ready/withdrawn awaiter needs nothing.
  if (state_.load(memory_order_relaxed) != linked) return;
  bool drop = false;
  {
    std::lock_guard lock(source_->mutex_);
    if (source_->waiter_[index(interest_)] == this) {
      // The waiting frame is destroyed while parked (runtime shutdown).
      source_->waiter_[index(interest_)] = nullptr;
      source_->reactor_->waiting_.fetch_sub(1, memory_order_relaxed);
      drop = true;
    }
  }
  if (drop) task_->release();
}

bool readiness_awaiter::await_suspend(std::coroutine_handle<> awaiting) {
  task_header* me = current_task();
  if (me == nullptr) throw std::logic_error("brigade I/O awaited outside a spawned task");
  if (me->is_cancelled()) {
    withdrawn_ = true;
    return false;
  }
  const int i = index(interest_);
  {
    std::lock_guard lock(source_->mutex_);
    if (source_->sequence_[i].load(memory_order_relaxed) != ticket_) {
      return false;  // ready meanwhile: retry
    }
    if (source_->waiter_[i] != nullptr) {
      throw std::logic_error(interest_ == io_interest::read
                                 ? "brigade I/O: two tasks wait to read the same fd"
                                 : "brigade I/O: two tasks wait to write the same fd");
    }
    set_wait(me, interest_ == io_interest::read ? wait_kind::read_fd : wait_kind::write_fd,
             static_cast<std::uint64_t>(static_cast<unsigned>(source_->fd_)));
    node_.poll = &io_internal::poll;
    node_.handle = awaiting;
    task_ = me;
    me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
    me->add_ref();  // the waker's reference: consumed by fire() or a withdrawal
    // relaxed: read by this task's own poll and destructor, or under the lock.
    state_.store(linked, memory_order_relaxed);
    source_->waiter_[i] = this;
    source_->reactor_->waiting_.fetch_add(1, memory_order_relaxed);
    // Armed under the lock: once it is released the driver may fire us, the
    // task may resume elsewhere, finish and close the fd, freeing the source.
    source_->reactor_->armed(*source_, interest_);
  }
  // The awaiter and the source may be gone already: touch neither.
  return true;
}

void readiness_awaiter::await_resume() const {
  if (withdrawn_) throw cancelled{};
}

bool io_internal::poll(wait_node* node, bool cancel) noexcept {
  auto* self = reinterpret_cast<readiness_awaiter*>(node);
  // acquire: pairs with the release in fire().
  if (self->state_.load(memory_order_acquire) == readiness_awaiter::ready) return true;
  if (!cancel) return false;  // a stale wake
  io_source& s = *self->source_;
  {
    std::lock_guard lock(s.mutex_);
    if (self->state_.load(memory_order_relaxed) == readiness_awaiter::ready) return true;
    s.waiter_[index(self->interest_)] = nullptr;
    s.reactor_->waiting_.fetch_sub(1, memory_order_relaxed);
    self->state_.store(readiness_awaiter::idle, memory_order_relaxed);
    self->withdrawn_ = true;
  }
  self->task_->release();  // the waker's reference: no waker any more
  return true;
}

void io_internal::fire_locked(io_source& s, bool readable, bool writable,
                              task_header* (&woken)[2]) noexcept {
  const bool dirs[2] = {readable, writable};
  for (int i = 0; i < 2; ++i) {
    if (!dirs[i]) continue;
    // release: pairs with the acquire in ticket().
    s.sequence_[i].fetch_add(1, memory_order_release);
    if (readiness_awaiter* w = s.waiter_[i]) {
      s.waiter_[i] = nullptr;
      s.reactor_->waiting_.fetch_sub(1, memory_order_relaxed);
      woken[i] = w->task_;
      // release: pairs with the acquire in poll(). After this store the
      // awaiter may be resumed and destroyed: do not touch it again.
      w->state_.store(readiness_awaiter::ready, memory_order_release);
    }
  }
}

void io_internal::wake(task_header* const (&woken)[2]) noexcept {
  for (task_header* t : woken) {
    if (t != nullptr) t->wake_by_val();
  }
}

void io_internal::fire(io_source& s, bool readable, bool writable) noexcept {
  task_header* woken[2] = {nullptr, nullptr};
  {
    std::lock_guard lock(s.mutex_);
    fire_locked(s, readable, writable, woken);
  }
  wake(woken);
}

// ---- io_registration ----

io_registration io_registration::attach(int fd) {
  std::shared_ptr<reactor> r;
  try {
    r = current_reactor("brigade I/O");
  } catch (...) {
    sys::get().close(fd);
    throw;
  }
  auto* s = new io_source;
  s->fd_ = fd;
  s->reactor_ = std::move(r);
  try {
    s->reactor_->add(*s);
  } catch (...) {
    sys::get().close(fd);
    delete s;
    throw;
  }
  io_registration reg;
  reg.source_ = s;
  return reg;
}

void io_registration::reset() noexcept {
  if (source_ == nullptr) return;
  io_source* s = source_;
  source_ = nullptr;
  s->reactor_->remove(s);
}

int io_registration::fd() const noexcept { return source_ == nullptr ? -1 : source_->fd_; }

std::uint32_t io_registration::ticket(io_interest interest) const noexcept {
  // acquire: pairs with the release in fire(); a ticket read before the
  // syscall orders the readiness it saw before that syscall.
  return source_->sequence_[index(interest)].load(memory_order_acquire);
}

io_registration::op_guard io_registration::begin(io_interest interest, const char* what) const {
  if (source_ == nullptr) throw std::logic_error(std::string(what) + ": the socket is closed");
  // acquire: pairs with the release in ~op_guard (the previous operation's
  // effects on the fd's state are visible).
  if (source_->busy_[index(interest)].exchange(true, memory_order_acquire)) {
    throw std::logic_error(std::string(what) +
                           (interest == io_interest::read
                                ? ": another task is already reading this socket"
                                : ": another task is already writing this socket"));
  }
  return op_guard{source_, interest};
}

io_registration::op_guard::~op_guard() {
  // release: pairs with the acquire in begin().
  source_->busy_[index(interest_)].store(false, memory_order_release);
}

}  // namespace brigade::detail
