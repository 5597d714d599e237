#pragma once
// The one seeded source of randomness (RELIABILITY.md "Randomness").
//
// Every random choice the runtime makes (steal victims, when_any start
// order) draws from here. The process seed comes from the BRIGADE_SEED
// environment variable when set (so a run can be replayed), otherwise from
// the clock; each thread derives its own stream from the seed and the order
// in which threads first draw.

#include <cstdint>

namespace brigade::detail {

/// The process seed (BRIGADE_SEED, or chosen at start-up).
std::uint64_t random_seed() noexcept;

/// Next number of the calling thread's stream (xoshiro-style, not crypto).
std::uint64_t random_u64() noexcept;

/// Uniform in [0, bound), bound > 0.
__extension__ using random_u128 = unsigned __int128;

inline std::uint64_t random_below(std::uint64_t bound) noexcept {
  // Lemire's multiply-shift: no division, negligible bias for small bounds.
  return static_cast<std::uint64_t>((static_cast<random_u128>(random_u64()) * bound) >> 64);
}

/// Chaos scheduling (RELIABILITY.md R2): when the BRIGADE_CHAOS environment
/// variable is set (and not "0"), the multi_thread workers perturb their
/// choices with the seeded source: the LIFO slot is skipped, woken tasks go
/// to the inject queue, a task about to run yields its turn to the next one.
/// Every perturbation is a legal schedule; they only make rare interleavings
/// common for the stress tests. Read once per process.
bool chaos_enabled() noexcept;

/// True with probability 1/one_in when chaos is enabled; always false
/// otherwise (one predictable branch).
bool chaos_coin(std::uint64_t one_in) noexcept;

}  // namespace brigade::detail
