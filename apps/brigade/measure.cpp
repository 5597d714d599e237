// Self-measurement of the brigade program's runs (see measure.hpp).

#include "measure.hpp"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace brigade::app {

namespace {

std::int64_t to_ns(const timespec& t) noexcept {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

std::int64_t to_ns(const timeval& t) noexcept {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 +
         static_cast<std::int64_t>(t.tv_usec) * 1000;
}

/// The number after `field` in /proc/self/status (kB for memory fields).
std::int64_t status_field(const char* field) noexcept {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  std::array<char, 256> line{};
  std::int64_t value = 0;
  const std::size_t n = std::strlen(field);
  while (std::fgets(line.data(), static_cast<int>(line.size()), f) != nullptr) {
    if (std::strncmp(line.data(), field, n) == 0 && line[n] == ':') {
      long long v = 0;
      if (std::sscanf(line.data() + n + 1, "%lld", &v) == 1) value = v;
      break;
    }
  }
  std::fclose(f);
  return value;
}

}  // namespace

std::int64_t wall_now_ns() noexcept {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return to_ns(t);
}

std::int64_t process_cpu_ns() noexcept {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return to_ns(u.ru_utime) + to_ns(u.ru_stime);
}

std::int64_t thread_cpu_ns() noexcept {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return to_ns(t);
}

std::int64_t rss_bytes() noexcept { return status_field("VmRSS") * 1024; }
std::int64_t peak_rss_bytes() noexcept { return status_field("VmHWM") * 1024; }
std::size_t os_thread_count() noexcept {
  return static_cast<std::size_t>(std::max<std::int64_t>(1, status_field("Threads")));
}

void busy_for(std::chrono::nanoseconds wall) noexcept {
  const std::int64_t until = wall_now_ns() + wall.count();
  std::uint64_t sink = 0;
  while (wall_now_ns() < until) {
    sink = hash_job(1, sink);
  }
  asm volatile("" : : "r"(sink) : "memory");
}

std::uint64_t hash_job(std::size_t rounds, std::uint64_t seed) noexcept {
  std::array<std::uint64_t, 512> block{};
  std::uint64_t x = seed | 1;
  for (std::uint64_t& w : block) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w = x;
  }
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::uint64_t w : block) {
      for (int b = 0; b < 8; ++b) {
        h ^= (w >> (8 * b)) & 0xff;
        h *= 1099511628211ull;
      }
    }
  }
  return h;
}

run_meter::run_meter() noexcept
    : wall_start_(wall_now_ns()),
      cpu_start_(process_cpu_ns()),
      rss_start_(rss_bytes()),
      baseline_threads_(os_thread_count()),
      threads_(baseline_threads_) {}

void run_meter::note_threads() noexcept { threads_ = std::max(threads_, os_thread_count()); }

run_meter::figures run_meter::finish() noexcept {
  figures f;
  f.wall_ns = static_cast<double>(wall_now_ns() - wall_start_);
  f.cpu_ns = static_cast<double>(process_cpu_ns() - cpu_start_);
  f.peak_rss_growth = static_cast<double>(std::max<std::int64_t>(0, peak_rss_bytes() - rss_start_));
  f.threads = static_cast<double>(threads_ - baseline_threads_ + 1);
  return f;
}

}  // namespace brigade::app
