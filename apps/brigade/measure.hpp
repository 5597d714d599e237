#pragma once
// What the kitchen and compare runs measure about themselves: wall time,
// CPU time of the whole process, resident memory, OS threads; and the two
// kinds of "work" they do (a CPU spin of a given CPU time, and hashing).
//
// Memory and CPU figures are per process: each run happens in a fresh
// forked child (forked_child.hpp), so they belong to that run alone.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace brigade::app {

/// Monotonic nanoseconds.
std::int64_t wall_now_ns() noexcept;
/// User + system CPU time of every thread of this process, living or gone.
std::int64_t process_cpu_ns() noexcept;
/// CPU time of the calling thread.
std::int64_t thread_cpu_ns() noexcept;
/// Resident set size now, and its high-water mark (VmRSS, VmHWM), in bytes.
std::int64_t rss_bytes() noexcept;
std::int64_t peak_rss_bytes() noexcept;
/// Threads of this process now (/proc/self/status).
std::size_t os_thread_count() noexcept;

/// Keeps the calling thread busy (computing, not sleeping) for `wall` of
/// real time: a cook's job in the kitchen, whose story length must not
/// stretch when other processes share the cores.
void busy_for(std::chrono::nanoseconds wall) noexcept;

/// FNV-1a over `rounds` passes of a 4 KiB block derived from `seed`: the
/// CPU-bound job of `brigade compare` (the result is returned so the
/// compiler cannot drop the loop).
std::uint64_t hash_job(std::size_t rounds, std::uint64_t seed) noexcept;

/// Figures of one run, measured from construction to finish().
class run_meter {
 public:
  run_meter() noexcept;

  struct figures {
    double wall_ns = 0;
    double cpu_ns = 0;
    double peak_rss_growth = 0;  ///< VmHWM at the end minus VmRSS at the start
    double threads = 0;  ///< most threads seen by note_threads(), counting the caller's as 1
  };

  /// Samples the thread count (call where the run has the most threads).
  void note_threads() noexcept;
  figures finish() noexcept;

 private:
  std::int64_t wall_start_;
  std::int64_t cpu_start_;
  std::int64_t rss_start_;
  std::size_t baseline_threads_;  // e.g. a sanitizer's own thread: not the run's
  std::size_t threads_;
};

}  // namespace brigade::app
