#pragma once
// The atomics seam (RELIABILITY.md "Seams").
//
// Every lock-free protocol in brigade names its atomics through this header,
// never through <atomic> directly. A model-check build defines
// BRIGADE_MODEL_CHECK and provides <brigade/detail/model_atomic.hpp>, which
// swaps in controlled atomics that yield to a schedule explorer at every
// operation, and shrinks the bounded queues (see local_queue_capacity) to 4 so
// that the explorer reaches the "queue full" paths within a few steps.

#include <atomic>
#include <cstddef>
#include <thread>

#if defined(BRIGADE_MODEL_CHECK)
#include <brigade/detail/model_atomic.hpp>
#else

namespace brigade::detail {

template <class T>
using atomic = std::atomic<T>;

using std::memory_order;
using std::memory_order_acq_rel;
using std::memory_order_acquire;
using std::memory_order_relaxed;
using std::memory_order_release;
using std::memory_order_seq_cst;

/// Capacity of a worker's bounded local run queue (8 KiB of pointers). A
/// model-check build shrinks it so the overflow-to-inject path is explored.
/// 1,024 rather than Tokio's 256: a burst of spawns up to that size stays
/// off the inject queue's lock (docs/design/scheduler.md).
inline constexpr std::size_t local_queue_capacity = 1024;

/// Spin-wait hint for the short spins in parkers and locks.
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Gives up the time slice in a spin loop that has spun for a while (a
/// preempted lock holder on a busy machine). The model-check build turns it
/// into a scheduling point instead.
inline void spin_yield() noexcept { std::this_thread::yield(); }

}  // namespace brigade::detail

#endif
