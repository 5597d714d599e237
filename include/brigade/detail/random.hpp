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

}  // namespace brigade::detail
