#pragma once
// The shared state behind cancellation_source / cancellation_token.
//
// Moving parts
//   One heap block per source, reference counted (sources, tokens and linked
//   child states hold references). It holds the "requested" flag and an
//   intrusive list of registrations (cancel_node): user callbacks
//   (cancellation_callback), suspended tasks (token.cancelled()) and child
//   states linked to this one. A registration lives inside its owner (the
//   callback object, the awaiter in the waiting frame, the child state): the
//   list allocates nothing.
//
// Protocol of request()
//   1. Under the lock: set requested_ (once; later requests return false),
//      so that a registration racing with the request either lands in the
//      list before it (and is fired) or sees requested_ and runs inline.
//   2. Pop registrations one at a time under the lock. A waiter is marked
//      ready under the lock and its task woken after unlocking (the wake
//      consumes the waker reference; the awaiter is never touched after it
//      is marked ready). A callback is recorded as running_ on this thread,
//      then invoked with the lock released (a callback may register or
//      deregister others, or request another source, without deadlock).
//   3. After a callback returns, running_ is cleared and waiting
//      deregistrations are notified: deregister() of a callback that is
//      running on another thread blocks until it returned, so that a
//      callback never runs after its registration was destroyed (the same
//      guarantee as std::stop_callback). On the thread running it (a
//      callback that destroys its own registration) it does not block.
//
// Which thread touches what: everything except requested_ and refs_ is
// guarded by mutex_.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/task_header.hpp>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace brigade::detail {

/// One registration in a cancellation_state's list (intrusive).
struct cancel_node {
  enum class kind : std::uint8_t {
    callback,  ///< fire() runs with the lock released
    waiter,    ///< a suspended task: marked ready under the lock, then woken
  };
  kind kind_ = kind::callback;
  /// For callbacks: invoked once when cancellation is requested.
  void (*fire)(cancel_node* self) noexcept = nullptr;
  cancel_node* prev_ = nullptr;
  cancel_node* next_ = nullptr;
  bool linked_ = false;  // guarded by the state's mutex
};

/// A task suspended in token.cancelled().
struct cancel_waiter_node : cancel_node {
  task_header* task_ = nullptr;
  /// release (in request): pairs with the acquire in the awaiter's poll.
  atomic<bool> ready_{false};
};

class cancellation_state {
 public:
  /// A new state with one reference (the caller's).
  static cancellation_state* create();
  /// A new state with one reference, cancelled when `parent` is (if any).
  static cancellation_state* create_linked(cancellation_state* parent);

  cancellation_state(const cancellation_state&) = delete;
  cancellation_state& operator=(const cancellation_state&) = delete;

  void add_ref() noexcept {
    // relaxed: a new reference is always made from an existing one.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept;

  /// Requests cancellation (see the protocol). Returns true for the call
  /// that made the request, false when it had already been made.
  bool request() noexcept;

  bool is_requested() const noexcept {
    // acquire: pairs with the release in request(): whatever the requester
    // wrote before requesting is visible to a task that sees the flag.
    return requested_.load(memory_order_acquire);
  }

  /// Links `node`. Returns false (nothing linked) when cancellation was
  /// already requested: the caller then acts inline.
  bool try_register(cancel_node* node) noexcept;

  /// Unlinks `node` if it is still linked (returns true). If it is a
  /// callback being run by request() on another thread, waits until it
  /// returned. Returns false when it was already fired (or being fired).
  bool deregister(cancel_node* node) noexcept;

 private:
  cancellation_state() = default;
  ~cancellation_state();

  void link(cancel_node* node) noexcept;
  void unlink(cancel_node* node) noexcept;
  static void fire_child(cancel_node* node) noexcept;

  /// The registration of a linked child in its parent's list.
  struct parent_link : cancel_node {
    cancellation_state* child = nullptr;
  };

  mutable std::mutex mutex_;
  std::condition_variable callback_done_;
  atomic<bool> requested_{false};
  atomic<std::uint32_t> refs_{1};
  cancel_node* head_ = nullptr;
  cancel_node* tail_ = nullptr;
  cancel_node* running_ = nullptr;  // the callback request() is running now
  std::thread::id running_thread_{};
  cancellation_state* parent_ = nullptr;  // holds a reference while linked
  parent_link link_{};
};

}  // namespace brigade::detail
