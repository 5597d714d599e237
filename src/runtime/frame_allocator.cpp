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
        ::operator delete(b, frame_cache::class_bytes(cls));
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

namespace {

/// The central pool: per size class, a stack of batches. A batch is a chain
/// of transfer_batch free blocks linked through free_block::next; its first
/// block also holds the link to the next batch: every block has room for
/// two words (the smallest class is 16 bytes, and a task block holds at
/// least the 80-byte header).
struct batch_head {
  frame_cache::free_block block;  // the chain: block.next
  batch_head* next_batch;
};
static_assert(frame_cache::class_bytes(1) >= sizeof(batch_head));

struct central_pool {
  struct size_class {
    std::mutex mutex;
    batch_head* batches = nullptr;  // guarded by mutex
  };
  size_class classes[frame_cache::classes];
  atomic<std::size_t> bytes{0};  // over every class, a bound checked without a lock
};

central_pool& central() {
  // Leaked on purpose, like the registry: threads may free frames after
  // static destruction begins.
  static central_pool* p = new central_pool;
  return *p;
}

constexpr std::size_t batch_bytes(std::size_t cls) noexcept {
  return frame_cache::class_bytes(cls) * frame_cache::transfer_batch;
}

}  // namespace

void* frame_cache::refill(std::size_t cls) {
  central_pool& pool = central();
  // relaxed: a hint; the list itself is read under the lock.
  if (pool.bytes.load(memory_order_relaxed) != 0) {
    batch_head* batch = nullptr;
    {
      central_pool::size_class& c = pool.classes[cls];
      std::lock_guard lock(c.mutex);
      batch = c.batches;
      if (batch != nullptr) c.batches = batch->next_batch;
    }
    if (batch != nullptr) {
      pool.bytes.fetch_sub(batch_bytes(cls), memory_order_relaxed);
      // The first block is returned; the other transfer_batch - 1 become
      // this thread's list (it was empty).
      slot& s = slots[cls];
      s.head = batch->block.next;
      s.count = transfer_batch - 1;
      cached_bytes += (transfer_batch - 1) * class_bytes(cls);
      return batch;
    }
  }
  return ::operator new(class_bytes(cls));
}

void frame_cache::overflow(free_block* block, std::size_t cls) noexcept {
  slot& s = slots[cls];
  central_pool& pool = central();
  const std::size_t size = class_bytes(cls);
  if (s.count + 1 < transfer_batch ||
      pool.bytes.load(memory_order_relaxed) + batch_bytes(cls) > central_cached_bytes) {
    // Too few of this class to make a batch (the cap is over every class),
    // or the pool is full: back to the system allocator.
    ::operator delete(block, size);
    return;
  }
  // `block` and the first transfer_batch - 1 blocks of the list make a
  // batch; the list keeps the rest. The blocks walked were freed recently
  // on this thread: warm.
  free_block* last = block;
  block->next = s.head;
  for (std::uint32_t i = 1; i < transfer_batch; ++i) last = last->next;
  s.head = last->next;
  s.count -= transfer_batch - 1;
  cached_bytes -= (transfer_batch - 1) * size;
  last->next = nullptr;
  auto* batch = reinterpret_cast<batch_head*>(block);
  pool.bytes.fetch_add(batch_bytes(cls), memory_order_relaxed);
  central_pool::size_class& c = pool.classes[cls];
  std::lock_guard lock(c.mutex);
  batch->next_batch = c.batches;
  c.batches = batch;
}

std::size_t central_pool_bytes() noexcept { return central().bytes.load(memory_order_relaxed); }

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
