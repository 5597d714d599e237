// Slow paths of the per-thread frame cache, and the live-frame accounting.

#include <brigade/detail/frame_allocator.hpp>

#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace brigade::detail {

thread_local constinit frame_cache tl_frame_cache{};

namespace {

struct registry {
  std::mutex mutex;
  std::vector<frame_cache*> caches;
  std::int64_t exited_live = 0;  // counts folded in by threads that ended
};

registry& global_registry() {
  // Leaked on purpose: threads may exit after static destruction begins.
  static registry* r = new registry;
  return *r;
}

/// Returns the thread's cached blocks and folds its count at thread exit.
struct thread_exit_guard {
  ~thread_exit_guard() {
    frame_cache& c = tl_frame_cache;
    for (std::size_t cls = 0; cls < frame_cache::classes; ++cls) {
      frame_cache::free_block* b = c.slots[cls].head;
      while (b != nullptr) {
        frame_cache::free_block* next = b->next;
        ::operator delete(b, cls* frame_cache::granule);
        b = next;
      }
      c.slots[cls] = {};
    }
    c.cached_bytes = 0;
    registry& r = global_registry();
    std::lock_guard lock(r.mutex);
    r.exited_live += c.live.load(memory_order_relaxed);
    c.live.store(0, memory_order_relaxed);
    std::erase(r.caches, &c);
    // Stay "registered": a frame freed by a later thread-exit destructor must
    // not re-register a cache that is about to disappear (it is then leaked).
    c.registered = true;
  }
};

thread_local thread_exit_guard tl_exit_guard;

}  // namespace

void frame_cache::register_thread() noexcept {
  registered = true;
  (void)&tl_exit_guard;  // odr-use: constructs the guard on this thread
  registry& r = global_registry();
  std::lock_guard lock(r.mutex);
  r.caches.push_back(this);
}

void* frame_cache::refill(std::size_t cls) { return ::operator new(cls* granule); }

void frame_cache::overflow(free_block* block, std::size_t cls) noexcept {
  ::operator delete(block, cls* granule);
}

void* allocate_block_uncached(std::size_t bytes) { return ::operator new(bytes); }

void free_block_uncached(void* block, std::size_t bytes) noexcept {
  ::operator delete(block, bytes);
}

std::int64_t live_frames() noexcept {
  registry& r = global_registry();
  std::lock_guard lock(r.mutex);
  std::int64_t total = r.exited_live;
  for (const frame_cache* c : r.caches) total += c->live.load(memory_order_relaxed);
  return total;
}

}  // namespace brigade::detail
