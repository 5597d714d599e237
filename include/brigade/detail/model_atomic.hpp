#pragma once
// Model-check atomics (RELIABILITY.md R1; included by detail/atomic.hpp when
// BRIGADE_MODEL_CHECK is defined, never directly).
//
// detail::atomic<T> here has the std::atomic API that brigade uses, but every
// operation first calls model_hooks::point(): a scheduling point at which the
// explorer (tests/model/model.hpp) may switch to another model thread. Only
// one model thread runs at a time, so an execution is a sequence of atomic
// operations: the model is sequentially consistent. The memory_order
// arguments are accepted and ignored; weaker-than-SC orderings are checked by
// the TSan stress tests (R2), not by the model.
//
// The value lives in a real std::atomic<T> accessed seq_cst, so code running
// outside a model execution (static init, thread-exit destructors, the test
// body before or after exploring) stays race-free.
//
// wait(old) blocks the model thread until a notify on the same atomic; a
// thread blocked with nobody left to notify it is reported as a deadlock (a
// lost wake-up). spin_pause() and spin_yield() deschedule the caller in
// favour of another enabled thread, so spin loops cost no preemptions.
//
// The hooks are defined by the explorer, which is linked into the model test
// executables only: this header must never reach libbrigade.

#include <atomic>
#include <cstddef>

namespace brigade::detail {

namespace model_hooks {
/// A scheduling point before an atomic operation. No-op off model threads.
void point() noexcept;
/// The caller spins: run another enabled thread first.
void yield() noexcept;
/// Blocks the calling model thread until notify(addr) wakes it.
void block(const void* addr) noexcept;
/// Wakes one (or all) model threads blocked on addr.
void notify(const void* addr, bool all) noexcept;
}  // namespace model_hooks

using std::memory_order;
using std::memory_order_acq_rel;
using std::memory_order_acquire;
using std::memory_order_relaxed;
using std::memory_order_release;
using std::memory_order_seq_cst;

template <class T>
class atomic {
 public:
  constexpr atomic() noexcept : v_() {}
  constexpr atomic(T v) noexcept : v_(v) {}  // NOLINT(google-explicit-constructor)
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  T load(memory_order = memory_order_seq_cst) const noexcept {
    model_hooks::point();
    return v_.load();
  }
  void store(T v, memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    v_.store(v);
  }
  T exchange(T v, memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    return v_.exchange(v);
  }
  // Never fails spuriously in the model (a limitation: the weak form is
  // explored as the strong one).
  bool compare_exchange_weak(T& expected, T desired, memory_order = memory_order_seq_cst,
                             memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    return v_.compare_exchange_strong(expected, desired);
  }
  bool compare_exchange_strong(T& expected, T desired, memory_order = memory_order_seq_cst,
                               memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    return v_.compare_exchange_strong(expected, desired);
  }
  T fetch_add(T d, memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    return v_.fetch_add(d);
  }
  T fetch_sub(T d, memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    return v_.fetch_sub(d);
  }
  T fetch_or(T d, memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    return v_.fetch_or(d);
  }
  T fetch_and(T d, memory_order = memory_order_seq_cst) noexcept {
    model_hooks::point();
    return v_.fetch_and(d);
  }

  operator T() const noexcept { return load(); }  // NOLINT(google-explicit-constructor)
  T operator=(T v) noexcept {
    store(v);
    return v;
  }
  T operator++() noexcept { return fetch_add(1) + 1; }
  T operator--() noexcept { return fetch_sub(1) - 1; }
  T operator++(int) noexcept { return fetch_add(1); }
  T operator--(int) noexcept { return fetch_sub(1); }

  /// Returns once the value differs from `old` (re-checked after each wake).
  void wait(T old, memory_order = memory_order_seq_cst) const noexcept {
    for (;;) {
      model_hooks::point();
      if (v_.load() != old) return;
      model_hooks::block(this);  // no scheduling point between check and block
    }
  }
  void notify_one() noexcept {
    model_hooks::point();
    model_hooks::notify(this, false);
  }
  void notify_all() noexcept {
    model_hooks::point();
    model_hooks::notify(this, true);
  }

 private:
  std::atomic<T> v_;
};

/// Shrunk so that the overflow-to-inject path is a few steps away.
inline constexpr std::size_t local_queue_capacity = 4;

/// Spin-wait hint: in the model, lets another thread run.
inline void spin_pause() noexcept { model_hooks::yield(); }
/// Gives up the time slice in a spin loop: in the model, as spin_pause().
inline void spin_yield() noexcept { model_hooks::yield(); }

}  // namespace brigade::detail
