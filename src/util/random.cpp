#include <brigade/detail/random.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>

namespace brigade::detail {

namespace {

std::uint64_t splitmix(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t initial_seed() noexcept {
  if (const char* s = std::getenv("BRIGADE_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 0);
  }
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::atomic<std::uint64_t> next_stream{0};

struct stream {
  std::uint64_t s0 = 0, s1 = 0;
  bool seeded = false;

  void seed() noexcept {
    std::uint64_t x =
        random_seed() + next_stream.fetch_add(1, std::memory_order_relaxed) * 0x632be59bd9b4e019ull;
    s0 = splitmix(x);
    s1 = splitmix(x) | 1;
    seeded = true;
  }
  std::uint64_t next() noexcept {  // xorshift128+
    std::uint64_t a = s0;
    const std::uint64_t b = s1;
    s0 = b;
    a ^= a << 23;
    s1 = a ^ b ^ (a >> 17) ^ (b >> 26);
    return s1 + b;
  }
};

thread_local constinit stream tl_stream{};

}  // namespace

std::uint64_t random_seed() noexcept {
  static const std::uint64_t seed = initial_seed();
  return seed;
}

std::uint64_t random_u64() noexcept {
  stream& s = tl_stream;
  if (!s.seeded) s.seed();
  return s.next();
}

bool chaos_enabled() noexcept {
  static const bool on = [] {
    const char* s = std::getenv("BRIGADE_CHAOS");
    return s != nullptr && *s != '\0' && *s != '0';
  }();
  return on;
}

bool chaos_coin(std::uint64_t one_in) noexcept {
  return chaos_enabled() && random_below(one_in) == 0;
}

}  // namespace brigade::detail
