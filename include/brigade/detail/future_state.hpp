#pragma once
// The shared state of a promise<T> / future<T> pair.
//
// Moving parts
//   One heap block, reference counted: the promise holds one reference, the
//   future one (a pending continuation takes over the future's). The value
//   (or exception) is written once by the producer, under the lock; then
//   ready_ is set (release) so consumers can test readiness without the
//   lock. The consumer is exactly one of: a task awaiting (an intrusive
//   waiter: no allocation), plain threads blocked in get()/wait() (a
//   condition variable), or a continuation set by then().
//
// Fulfilment protocol (publish)
//   1. Under the lock: write the result, set status_ and ready_ (release:
//      pairs with the acquire in is_ready()), unregister the waiter and mark
//      it ready (release: pairs with the acquire in its poll), and take the
//      continuation.
//   2. After unlocking: notify blocked threads, wake the waiter's task (that
//      consumes the waker's reference; the waiter itself is not touched
//      again), run the continuation inline and drop its reference.
//   A task whose await is aborted withdraws under the lock (or finds it was
//   already marked ready and completes normally): the value stays in the
//   state for a later await, get() or then().
//
// Errors never lost: when the last reference goes, an exception that no
// consumer observed is passed to the unobserved-error handler
// (set_unobserved_error_handler; default: stderr). A promise dropped
// unfulfilled stores brigade::broken_promise, but only while a consumer
// exists: nobody needs to hear about a promise nobody waits for.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>

namespace brigade::detail {

class future_state_base;

/// Code that runs when the state becomes ready (future::then).
struct continuation {
  continuation() = default;
  continuation(const continuation&) = delete;
  continuation& operator=(const continuation&) = delete;
  virtual ~continuation() = default;
  /// Runs once, on the thread that fulfilled the promise (or inline in
  /// then() when already ready). Must consume the result.
  virtual void run(future_state_base& state) noexcept = 0;
};

class future_state_base {
 public:
  enum class status : std::uint8_t { empty, value, error };

  future_state_base() = default;
  future_state_base(const future_state_base&) = delete;
  future_state_base& operator=(const future_state_base&) = delete;

  void add_ref() noexcept {
    // relaxed: a new reference is always made from an existing one.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the last owner sees every other owner's writes before deleting.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

  bool is_ready() const noexcept {
    // acquire: pairs with the release in publish(): the result is visible.
    return ready_.load(memory_order_acquire);
  }

  // ---- producer ----
  /// Stores an exception. Returns false when already fulfilled.
  bool set_exception(std::exception_ptr e) noexcept;
  /// The promise goes away: broken_promise if unfulfilled and consumed.
  void abandon() noexcept;

  // ---- consumer ----
  /// Claims the single consumer slot (get_future). False if taken before.
  bool claim_consumer() noexcept;
  /// The future goes away without a continuation.
  void drop_consumer() noexcept;
  /// Blocks the calling (plain) thread until ready.
  void wait() noexcept;
  /// Blocks until ready or `deadline`; returns is_ready().
  bool wait_until(std::chrono::steady_clock::time_point deadline) noexcept;
  /// Sets the continuation, or runs it now when ready. Takes over the
  /// caller's (the future's) reference.
  void set_continuation(continuation* c) noexcept;
  /// Ready with an error: marks it observed and moves it out (once); else null.
  std::exception_ptr take_error() noexcept;

  /// A task waiting in co_await (one at a time).
  struct waiter : wait_node {
    future_state_base* state = nullptr;
    task_header* task = nullptr;
    bool registered = false;  // guarded by the state's mutex
    bool withdrawn = false;
    /// release (publish): pairs with the acquire in poll_waiter.
    atomic<bool> ready{false};
  };
  /// Registers `w` (false: ready meanwhile, do not suspend).
  bool register_waiter(waiter* w) noexcept;
  /// Withdraws `w` if still registered (true), for the destructor and the
  /// cancel poll.
  bool withdraw_waiter(waiter* w) noexcept;
  /// The poll of a waiter (see wait_node).
  static bool poll_waiter(waiter* w, bool cancel) noexcept;

 protected:
  virtual ~future_state_base();

  /// Step 1 and 2 of the protocol; `lock` is held on entry, released inside.
  void publish(std::unique_lock<std::mutex>& lock, status s) noexcept;

  std::mutex mutex_;

 private:
  std::condition_variable ready_cv_;
  atomic<std::uint32_t> refs_{1};  // the promise's; get_future adds the future's
  atomic<bool> ready_{false};
  status status_ = status::empty;
  bool consumer_claimed_ = false;
  bool consumer_alive_ = false;
  bool observed_ = false;
  std::exception_ptr error_;
  waiter* waiter_ = nullptr;
  continuation* continuation_ = nullptr;
};

/// The typed part: where the value lives.
template <class T>
class future_state final : public future_state_base {
 public:
  /// Stores a value. Returns false when already fulfilled.
  template <class... Args>
  bool set_value(Args&&... args) {
    std::unique_lock lock(mutex_);
    if (is_ready()) return false;
    if constexpr (!std::is_void_v<T>) value_.emplace(std::forward<Args>(args)...);
    publish(lock, status::value);
    return true;
  }

  /// The result once ready: rethrows the error (observed), or moves the
  /// value out. Only the single consumer calls it, once.
  T take() {
    if (std::exception_ptr e = take_error()) std::rethrow_exception(e);
    if constexpr (!std::is_void_v<T>) return std::move(*value_);
  }

 private:
  using slot = std::conditional_t<std::is_void_v<T>, char, T>;
  std::optional<slot> value_;
};

/// Passes an error nobody can receive to the unobserved-error handler.
void report_unobserved_error(std::exception_ptr error, const char* context) noexcept;

}  // namespace brigade::detail
