#pragma once
// Coroutine frame allocation (DESIGN §2).
//
// Every task frame is one block: [task_header prefix][coroutine frame]. Blocks
// come from a per-thread free list per size class (16-byte steps up to 512
// bytes, then 64-byte steps), so spawn and join do not reach malloc on the
// hot path. A block freed on another thread goes to that thread's list
// (frames migrate with work-stealing).
//
// Each list is small: max_cached_bytes (4 MiB) per thread, and 1 MiB on a
// thread that has freed more frames than it allocated (a net importer, e.g.
// where the connections of an accept loop running on another worker end).
// The surplus goes to a central pool, per size class, in batches of
// transfer_batch blocks under one lock; a thread whose list is empty takes a
// batch from there before it asks malloc (tcmalloc's transfer cache). Blocks
// thus flow from the threads that free them to the threads that allocate
// them without a malloc/free per frame, and the memory a burst leaves behind
// serves the next burst whichever worker runs it: with a large private cap
// it stayed with the thread that freed it, and a spawner that had moved to
// the other worker paid malloc and page faults again (task-lifecycle.md).
// The pool holds at most central_cached_bytes; beyond, blocks go back to the
// system allocator.
//
// The live-frame counter (RELIABILITY "Accounting") is per thread, summed on
// read: tests assert it returns to its baseline after every runtime.
//
// Under AddressSanitizer the free lists are bypassed so that a use of a freed
// frame is reported instead of hidden by recycling.

#include <brigade/detail/atomic.hpp>

#include <cstddef>
#include <cstdint>

namespace brigade::detail {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool frame_cache_enabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool frame_cache_enabled = false;
#else
inline constexpr bool frame_cache_enabled = true;
#endif
#else
inline constexpr bool frame_cache_enabled = true;
#endif

struct frame_cache {
  /// Size classes: 16-byte steps up to 512 bytes (a task frame with its
  /// header is 128-300 bytes: 64-byte steps wasted 32 of them on average,
  /// about a tenth of an idle task), 64-byte steps from there to 4 KiB.
  /// Larger blocks are not cached.
  static constexpr std::size_t fine_granule = 16;
  static constexpr std::size_t fine_limit = 512;
  static constexpr std::size_t coarse_granule = 64;
  static constexpr std::size_t max_cached_block = 4096;
  static constexpr std::size_t fine_classes = fine_limit / fine_granule + 1;  // 0..512
  static constexpr std::size_t classes =
      fine_classes + (max_cached_block - fine_limit) / coarse_granule;
  /// The class of a block of `bytes` (>= classes: not cached).
  static constexpr std::size_t class_of(std::size_t bytes) noexcept {
    return bytes <= fine_limit
               ? (bytes + fine_granule - 1) / fine_granule
               : fine_classes - 1 + (bytes - fine_limit + coarse_granule - 1) / coarse_granule;
  }
  /// The size of the blocks of class `cls` (< classes).
  static constexpr std::size_t class_bytes(std::size_t cls) noexcept {
    return cls < fine_classes ? cls * fine_granule
                              : fine_limit + (cls - (fine_classes - 1)) * coarse_granule;
  }
  /// A thread's own cap: more goes to the central pool, where any thread
  /// can take it.
  static constexpr std::size_t max_cached_bytes = std::size_t{4} << 20;
  /// The cap of a thread that freed more frames than it allocated (live <
  /// 0): it would only hoard blocks that other threads allocate again.
  static constexpr std::size_t importer_cached_bytes = std::size_t{1} << 20;
  /// Blocks moved to or from the central pool at once.
  static constexpr std::uint32_t transfer_batch = 64;
  /// The central pool's bound, over every size class: what a burst of
  /// about 1.4 million 192-byte frames leaves behind.
  static constexpr std::size_t central_cached_bytes = std::size_t{256} << 20;

  struct free_block {
    free_block* next;
  };
  struct slot {
    free_block* head;
    std::uint32_t count;
  };

  slot slots[classes];
  std::size_t cached_bytes;
  /// Frames allocated minus frames freed on this thread (may go negative on a
  /// thread that frees frames others allocated). Written only by the owner;
  /// atomic so that live_frames() may read it from another thread.
  atomic<std::int64_t> live;
  bool registered;

  /// Slow paths (src/runtime/frame_allocator.cpp). refill: the list of
  /// `cls` is empty: a block from a central batch (the rest of the batch
  /// joins the list), else from malloc. overflow: the cache is over its cap:
  /// a batch of this class goes to the central pool (or `block` to free()).
  void* refill(std::size_t cls);
  void overflow(free_block* block, std::size_t cls) noexcept;
  void register_thread() noexcept;
};

// constinit + trivial destructor: no TLS init guard on the hot path. The
// thread-exit cleanup lives in a separate guard object (see .cpp).
extern thread_local constinit frame_cache tl_frame_cache;

void* allocate_block_uncached(std::size_t bytes);
void free_block_uncached(void* block, std::size_t bytes) noexcept;

inline void count_frame(frame_cache& c, std::int64_t delta) noexcept {
  if (!c.registered) c.register_thread();
  // relaxed: a counter read by live_frames(), which tolerates staleness
  // except after the threads have synchronised (runtime shutdown joins them).
  c.live.store(c.live.load(memory_order_relaxed) + delta, memory_order_relaxed);
}

/// Allocates a block of at least `bytes` bytes.
inline void* allocate_block(std::size_t bytes) {
  frame_cache& c = tl_frame_cache;
  count_frame(c, 1);
  const std::size_t cls = frame_cache::class_of(bytes);
  if (frame_cache_enabled && cls < frame_cache::classes) {
    frame_cache::slot& s = c.slots[cls];
    if (frame_cache::free_block* b = s.head) {
      s.head = b->next;
      --s.count;
      c.cached_bytes -= frame_cache::class_bytes(cls);
      return b;
    }
    return c.refill(cls);
  }
  return allocate_block_uncached(bytes);
}

/// Returns a block obtained from allocate_block(bytes).
inline void free_block(void* block, std::size_t bytes) noexcept {
  frame_cache& c = tl_frame_cache;
  count_frame(c, -1);
  const std::size_t cls = frame_cache::class_of(bytes);
  if (frame_cache_enabled && cls < frame_cache::classes) {
    auto* b = static_cast<frame_cache::free_block*>(block);
    frame_cache::slot& s = c.slots[cls];
    const std::size_t size = frame_cache::class_bytes(cls);
    // relaxed: the owner's own counter (count_frame just wrote it).
    const std::size_t cap = c.live.load(memory_order_relaxed) < 0
                                ? frame_cache::importer_cached_bytes
                                : frame_cache::max_cached_bytes;
    if (c.cached_bytes + size <= cap) {
      b->next = s.head;
      s.head = b;
      ++s.count;
      c.cached_bytes += size;
      return;
    }
    c.overflow(b, cls);
    return;
  }
  free_block_uncached(block, bytes);
}

/// Frames (task blocks) currently allocated, summed over every thread.
std::int64_t live_frames() noexcept;

/// Bytes of blocks waiting in the central pool (tests, diagnostics).
std::size_t central_pool_bytes() noexcept;

}  // namespace brigade::detail
