// future_state: see the protocol in detail/future_state.hpp; and the
// unobserved-error handler shared by futures and the callback bridge.

#include <brigade/future.hpp>

#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

namespace brigade {

namespace {

std::mutex& handler_mutex() {
  static std::mutex m;
  return m;
}
unobserved_error_handler& handler_slot() {
  static unobserved_error_handler h;
  return h;
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "(an exception not derived from std::exception)";
  }
}

}  // namespace

unobserved_error_handler set_unobserved_error_handler(unobserved_error_handler handler) {
  std::lock_guard lock(handler_mutex());
  return std::exchange(handler_slot(), std::move(handler));
}

namespace detail {

void report_unobserved_error(std::exception_ptr error, const char* context) noexcept {
  try {
    unobserved_error_handler h;
    {
      std::lock_guard lock(handler_mutex());
      h = handler_slot();
    }
    if (h) {
      h(error, context);
    } else {
      const std::string what = describe(error);
      std::fprintf(stderr, "brigade: %s: %s\n", context, what.c_str());
    }
  } catch (...) {
    std::fputs("brigade: the unobserved-error handler threw; error dropped\n", stderr);
  }
}

future_state_base::~future_state_base() {
  if (status_ == status::error && !observed_) {
    report_unobserved_error(error_, "future destroyed with an unobserved exception");
  }
  delete continuation_;  // only set when never run (cannot happen: kept for safety)
}

void future_state_base::publish(std::unique_lock<std::mutex>& lock, status s) noexcept {
  status_ = s;
  ready_.store(true, memory_order_release);  // release: pairs with is_ready()
  task_header* wake = nullptr;
  if (waiter* w = std::exchange(waiter_, nullptr)) {
    w->registered = false;
    wake = w->task;
    // release: pairs with the acquire in poll_waiter. The waiter may be
    // resumed and destroyed from here on: do not touch it.
    w->ready.store(true, memory_order_release);
  }
  continuation* c = std::exchange(continuation_, nullptr);
  // Keep the state alive through the steps below even if the promise is
  // released by a consumer the moment it sees the value.
  add_ref();
  lock.unlock();
  ready_cv_.notify_all();
  if (wake != nullptr) wake->wake_by_val();
  if (c != nullptr) {
    c->run(*this);
    delete c;
    release();  // the future's reference, carried by the continuation
  }
  release();
}

bool future_state_base::set_exception(std::exception_ptr e) noexcept {
  std::unique_lock lock(mutex_);
  if (status_ != status::empty) return false;
  error_ = std::move(e);
  publish(lock, status::error);
  return true;
}

void future_state_base::abandon() noexcept {
  std::unique_lock lock(mutex_);
  if (status_ != status::empty || !consumer_alive_) return;
  error_ = std::make_exception_ptr(broken_promise{});
  publish(lock, status::error);
}

bool future_state_base::claim_consumer() noexcept {
  std::lock_guard lock(mutex_);
  if (consumer_claimed_) return false;
  consumer_claimed_ = consumer_alive_ = true;
  return true;
}

void future_state_base::drop_consumer() noexcept {
  std::lock_guard lock(mutex_);
  consumer_alive_ = false;
}

void future_state_base::wait() noexcept {
  std::unique_lock lock(mutex_);
  ready_cv_.wait(lock, [&] { return status_ != status::empty; });
}

bool future_state_base::wait_until(std::chrono::steady_clock::time_point deadline) noexcept {
  std::unique_lock lock(mutex_);
  return ready_cv_.wait_until(lock, deadline, [&] { return status_ != status::empty; });
}

void future_state_base::set_continuation(continuation* c) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (status_ == status::empty) {
      continuation_ = c;
      return;
    }
  }
  c->run(*this);
  delete c;
  release();
}

std::exception_ptr future_state_base::take_error() noexcept {
  std::lock_guard lock(mutex_);
  if (status_ != status::error) return nullptr;
  observed_ = true;
  // Moved out: the single consumer holds the only reference, so the
  // exception dies on the consumer's thread. (Also keeps TSan quiet: it does
  // not see the reference count inside an uninstrumented libstdc++.)
  return std::move(error_);
}

bool future_state_base::register_waiter(waiter* w) noexcept {
  std::lock_guard lock(mutex_);
  if (status_ != status::empty) return false;
  w->task->add_ref();  // the waker's reference: consumed by publish or a withdrawal
  w->registered = true;
  waiter_ = w;
  return true;
}

bool future_state_base::withdraw_waiter(waiter* w) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (!w->registered) return false;
    w->registered = false;
    waiter_ = nullptr;
  }
  w->task->release();  // no waker any more
  return true;
}

bool future_state_base::poll_waiter(waiter* w, bool cancel) noexcept {
  // acquire: pairs with the release in publish().
  if (w->ready.load(memory_order_acquire)) return true;
  if (!cancel) return false;  // a stale wake
  if (w->state->withdraw_waiter(w)) {
    w->withdrawn = true;  // await_resume throws brigade::cancelled
    return true;
  }
  return true;  // publish() unregistered us and marked us ready: completed
}

}  // namespace detail
}  // namespace brigade
