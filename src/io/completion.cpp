// completion_awaiter: the task side of completion-based operations (see
// completion.hpp for the protocol).

#include "io/completion.hpp"

#include <brigade/cancelled.hpp>
#include <brigade/detail/context.hpp>
#include <brigade/detail/wait_info.hpp>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace brigade::detail {

// Backends without completions never receive one (callers check
// supports_completions first).
void reactor::submit(completion_awaiter&) noexcept { std::abort(); }
void reactor::cancel(completion_awaiter&) noexcept {}
void reactor::abandon(completion_awaiter&) noexcept {}

completion_awaiter::~completion_awaiter() {
  // relaxed: only at shutdown can a frame die with its operation in flight,
  // and then nobody reaps completions concurrently.
  if (state_.load(memory_order_relaxed) != in_flight) return;
  core_->abandon(*this);  // no completion will wake the task: drop its reference
  task_->release();
}

bool completion_awaiter::await_suspend(std::coroutine_handle<> awaiting) {
  task_header* me = current_task();
  if (me == nullptr) throw std::logic_error("brigade I/O awaited outside a spawned task");
  if (me->is_cancelled()) {
    withdrawn_ = true;
    return false;
  }
  const bool reading = op_.op == io_op::kind::recv || op_.op == io_op::kind::read ||
                       op_.op == io_op::kind::recvmsg || op_.op == io_op::kind::accept;
  const bool writing =
      op_.op == io_op::kind::send || op_.op == io_op::kind::write || op_.op == io_op::kind::sendmsg;
  set_wait(me,
           reading   ? wait_kind::read_fd
           : writing ? wait_kind::write_fd
                     : wait_kind::io_op,
           static_cast<std::uint64_t>(static_cast<unsigned>(op_.fd)));
  node_.poll = &completion_awaiter::poll;
  node_.handle = awaiting;
  task_ = me;
  me->resume_ = reinterpret_cast<std::uintptr_t>(&node_) | 1u;
  me->add_ref();  // the waker's reference: consumed by complete()
  // relaxed: the submission (under the reactor's lock) publishes it to the
  // reaper, which takes the same lock before reading any CQE.
  state_.store(in_flight, memory_order_relaxed);
  core_->submit(*this);
  // The completion may already be resuming the task elsewhere: touch nothing.
  return true;
}

int completion_awaiter::await_resume() const {
  if (withdrawn_ || (cancel_sent_ && result_ == -ECANCELED)) throw cancelled{};
  return result_;
}

bool completion_awaiter::poll(wait_node* node, bool cancel) noexcept {
  auto* self = reinterpret_cast<completion_awaiter*>(node);
  // acquire: pairs with the release in complete().
  if (self->state_.load(memory_order_acquire) == done) return true;
  if (cancel && !self->cancel_sent_) {
    self->cancel_sent_ = true;
    self->core_->cancel(*self);
  }
  return false;  // wait for the operation's own completion
}

void completion_internal::complete(completion_awaiter& op, int res) noexcept {
  task_header* t = op.task_;
  op.result_ = res;
  op.core_->waiting_.fetch_sub(1, memory_order_relaxed);
  // release: pairs with the acquire in poll(). The awaiter may be resumed
  // and destroyed from here on.
  op.state_.store(completion_awaiter::done, memory_order_release);
  t->wake_by_val();
}

}  // namespace brigade::detail
