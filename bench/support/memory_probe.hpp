#pragma once
// Memory probes for the "bytes per idle task / per blocked thread" figures.
//
// What each number sees
//   heap    glibc's bytes in use (mallinfo2: uordblks + hblkhd), summed over
//           every arena: exact for what brigade allocates, including malloc's
//           own chunk header and the frame allocator's 64-byte size classes.
//           Reads 0 under AddressSanitizer, which replaces malloc.
//   rss     resident pages of this process (/proc/self/statm): what the
//           machine really pays, but only for pages touched for the first
//           time, so measure in a fresh process (see child processes in
//           bench/micro and apps/brigade).
//   vm      virtual size (/proc/self/statm): shows the 8 MiB stack that every
//           OS thread reserves even when it touches a few KiB of it.
//   kernel  KernelStack + PageTables + SUnreclaim from /proc/meminfo: memory
//           the kernel holds on our behalf (thread stacks, task_struct,
//           page tables). System-wide, so other processes add noise: use it
//           with a large count.
//
// Thread safety: every function may be called from any thread.

#include <malloc.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace brigade::bench {

struct memory_snapshot {
  std::int64_t heap = 0;
  std::int64_t rss = 0;
  std::int64_t vm = 0;
  std::int64_t kernel = 0;
};

/// glibc heap bytes in use (small chunks + mmapped chunks), every arena.
inline std::int64_t heap_in_use() noexcept {
  const struct mallinfo2 mi = ::mallinfo2();
  return static_cast<std::int64_t>(mi.uordblks + mi.hblkhd);
}

/// {virtual size, resident size} of this process, in bytes.
inline void read_statm(std::int64_t& vm, std::int64_t& rss) noexcept {
  vm = rss = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return;
  long size_pages = 0;
  long resident_pages = 0;
  if (std::fscanf(f, "%ld %ld", &size_pages, &resident_pages) == 2) {
    const long page = ::sysconf(_SC_PAGESIZE);
    vm = static_cast<std::int64_t>(size_pages) * page;
    rss = static_cast<std::int64_t>(resident_pages) * page;
  }
  std::fclose(f);
}

/// Kernel memory held system-wide for stacks, page tables and unreclaimable
/// slab objects, in bytes (0 when /proc/meminfo is unreadable).
inline std::int64_t kernel_memory() noexcept {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  std::int64_t total_kib = 0;
  char key[64];
  long long value = 0;
  while (std::fscanf(f, "%63s %lld kB", key, &value) == 2) {
    if (std::strcmp(key, "KernelStack:") == 0 || std::strcmp(key, "PageTables:") == 0 ||
        std::strcmp(key, "SUnreclaim:") == 0) {
      total_kib += value;
    }
  }
  std::fclose(f);
  return total_kib * 1024;
}

inline memory_snapshot take_snapshot() noexcept {
  memory_snapshot s;
  s.heap = heap_in_use();
  read_statm(s.vm, s.rss);
  s.kernel = kernel_memory();
  return s;
}

/// Per-item difference between two snapshots.
struct memory_per_item {
  double heap = 0;
  double rss = 0;
  double vm = 0;
  double kernel = 0;
};

inline memory_per_item per_item(const memory_snapshot& before, const memory_snapshot& after,
                                std::size_t items) noexcept {
  const double n = items == 0 ? 1.0 : static_cast<double>(items);
  return {static_cast<double>(after.heap - before.heap) / n,
          static_cast<double>(after.rss - before.rss) / n,
          static_cast<double>(after.vm - before.vm) / n,
          static_cast<double>(after.kernel - before.kernel) / n};
}

}  // namespace brigade::bench
