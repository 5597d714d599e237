#pragma once
// Which workers are parked and which are searching for work, so that new
// work wakes exactly one sleeper, and only when nobody is already looking.
//
// state_ packs two counts (Tokio's multi_thread/idle.rs):
//   bits  0..15  searching: workers stealing right now
//   bits 16..31  unparked:  workers not parked
// sleepers_ (under mutex_) lists parked workers.
//
// Protocols and why they lose no wake-up
//   notify_parked (work was queued):
//     1. If someone is searching, or nobody is parked, return: a searcher
//        will find the work, or an awake worker will reach it.
//     2. Under the lock, check again, pop a sleeper and count it unparked and
//        searching before it runs (so a burst of work wakes one at a time).
//   park (a worker found nothing):
//     1. Under the lock: count it not unparked (and not searching) and add it
//        to sleepers.
//     2. If it was the last searcher, it looks at every queue once more and
//        notifies if any holds work: work queued while everyone was between
//        "found nothing" and "parked" is not stranded.
//   searching is capped at half the workers: more searchers only contend.

#include <brigade/detail/atomic.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace brigade::detail {

class idle {
 public:
  explicit idle(std::size_t workers) : workers_(static_cast<std::uint32_t>(workers)) {
    state_.store(workers_ << unparked_shift, memory_order_relaxed);
    sleepers_.reserve(workers);
  }

  /// Returns the index of the worker to unpark, or -1.
  int worker_to_notify() noexcept;
  /// A worker starts searching; false when half the workers already are.
  bool transition_worker_to_searching() noexcept;
  /// A searching worker found work. Returns true when it was the last
  /// searcher: the caller must notify_parked so the search goes on.
  bool transition_worker_from_searching() noexcept;
  /// Step 1 of park. Returns true when it was the last searcher.
  bool transition_worker_to_parked(std::size_t worker, bool searching) noexcept;
  /// After a wake-up: true when a notifier took this worker out of the
  /// sleepers (it is now unparked and searching); false for a spurious wake.
  bool is_notified(std::size_t worker) noexcept;
  /// Counts a worker unparked without a notifier (shutdown).
  void unpark_all_for_shutdown(std::vector<std::size_t>& out) noexcept;

  /// A parked worker found work on its own queues (the driver fired
  /// timers onto them): it leaves the sleepers and counts as unparked.
  /// Returns false when a notifier had already taken it out of the sleepers
  /// (and counted it as searching: the caller must then search).
  bool unpark_self(std::size_t worker) noexcept;

  std::uint32_t num_unparked() const noexcept {
    return state_.load(memory_order_seq_cst) >> unparked_shift;
  }

  std::uint32_t num_searching() const noexcept {
    return state_.load(memory_order_seq_cst) & searching_mask;
  }

 private:
  static constexpr std::uint32_t searching_mask = 0xffff;
  static constexpr int unparked_shift = 16;
  static constexpr std::uint32_t unparked_one = 1u << unparked_shift;

  bool notify_should_wakeup() const noexcept {
    // seq_cst: orders the caller's queue push before this load against the
    // parker's seq_cst decrement and its re-check of the queues.
    const std::uint32_t s = state_.load(memory_order_seq_cst);
    return (s & searching_mask) == 0 && (s >> unparked_shift) < workers_;
  }

  const std::uint32_t workers_;
  atomic<std::uint32_t> state_{0};
  std::mutex mutex_;
  std::vector<std::size_t> sleepers_;
};

}  // namespace brigade::detail
