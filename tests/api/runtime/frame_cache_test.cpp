// The per-thread frame cache (detail/frame_allocator.hpp): a thread keeps
// at most max_cached_bytes of freed blocks, and a thread that frees blocks
// other threads allocated (a net importer: a server whose accept loop spawns
// on one worker while the connections end on another) at most
// importer_cached_bytes; the rest goes, in batches, to the central pool,
// where threads that allocate take it before they ask malloc.

#include <brigade/detail/frame_allocator.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <thread>
#include <vector>

namespace bd = brigade::detail;

namespace {

constexpr std::size_t block_bytes = 768;

std::size_t cached_bytes_here() { return bd::tl_frame_cache.cached_bytes; }

/// Fills `blocks` (already sized) with new blocks, on a thread of its own.
void allocate_on_another_thread(std::vector<void*>& blocks) {
  std::thread t([&] {
    for (void*& b : blocks) b = bd::allocate_block(block_bytes);
  });
  t.join();
}

/// Frees every block of `blocks` on a thread of its own.
void free_on_another_thread(const std::vector<void*>& blocks) {
  std::thread t([&] {
    for (void* b : blocks) bd::free_block(b, block_bytes);
  });
  t.join();
}

}  // namespace

TEST(FrameCache, SizeClassesStepBy16BytesTo512ThenBy64To4KiB) {
  using fc = bd::frame_cache;
  std::size_t previous_class = 0;
  for (std::size_t bytes = 1; bytes <= fc::max_cached_block; ++bytes) {
    const std::size_t cls = fc::class_of(bytes);
    ASSERT_LT(cls, fc::classes) << bytes;
    ASSERT_GE(cls, previous_class) << bytes;  // monotonic
    previous_class = cls;
    const std::size_t size = fc::class_bytes(cls);
    const std::size_t step = bytes <= fc::fine_limit ? fc::fine_granule : fc::coarse_granule;
    ASSERT_GE(size, bytes);
    ASSERT_LT(size - bytes, step) << bytes;  // the waste is under one step
    ASSERT_EQ(size % 16, 0u) << "frames need 16-byte alignment";
  }
  EXPECT_EQ(fc::class_of(fc::max_cached_block), fc::classes - 1);
  EXPECT_GE(fc::class_of(fc::max_cached_block + 1), fc::classes);  // not cached
  // A 224-byte block (a task waiting on a notify: 80-byte header, 144-byte
  // frame) costs 224 bytes, not 256.
  EXPECT_EQ(fc::class_bytes(fc::class_of(224)), 224u);
}

TEST(FrameCache, ABlockIsCachedAtItsClassSize) {
  if (!bd::frame_cache_enabled) GTEST_SKIP() << "the cache is bypassed under ASan";
  std::size_t grew = 0;
  std::thread t([&] {
    void* b = bd::allocate_block(200);
    const std::size_t before = cached_bytes_here();
    bd::free_block(b, 200);
    grew = cached_bytes_here() - before;
  });
  t.join();
  EXPECT_EQ(grew, 208u);
}

TEST(FrameCache, AThreadThatFreesOthersBlocksCachesAtMostTheImporterCap) {
  if (!bd::frame_cache_enabled) GTEST_SKIP() << "the cache is bypassed under ASan";
  // 8 MiB of blocks allocated on this thread, freed on another.
  const std::size_t n = (std::size_t{8} << 20) / block_bytes;
  std::vector<void*> blocks;
  blocks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) blocks.push_back(bd::allocate_block(block_bytes));
  std::size_t importer_cached = 0;
  std::thread other([&] {
    for (void* b : blocks) bd::free_block(b, block_bytes);
    importer_cached = cached_bytes_here();
  });
  other.join();
  EXPECT_GT(importer_cached, 0u);
  EXPECT_LE(importer_cached, bd::frame_cache::importer_cached_bytes);
}

TEST(FrameCache, AThreadThatFreesItsOwnBlocksKeepsThemUpToItsCap) {
  if (!bd::frame_cache_enabled) GTEST_SKIP() << "the cache is bypassed under ASan";
  std::size_t cached = 0;
  const std::size_t n = bd::frame_cache::max_cached_bytes / 2 / block_bytes;
  std::thread own([&] {
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < n; ++i) blocks.push_back(bd::allocate_block(block_bytes));
    for (void* b : blocks) bd::free_block(b, block_bytes);
    cached = cached_bytes_here();
  });
  own.join();
  EXPECT_GE(cached, n * block_bytes);  // a warm spawn+join needs no malloc
}

TEST(FrameCache, AnImportersSurplusServesAnotherThreadsAllocations) {
  if (!bd::frame_cache_enabled) GTEST_SKIP() << "the cache is bypassed under ASan";
  // 8 MiB allocated on one thread and freed on a second (the importer):
  // all but the importer's 1 MiB reach the central pool. A third thread
  // then allocates as many: its blocks come from the pool.
  const std::size_t n = (std::size_t{8} << 20) / block_bytes;
  const std::size_t batch = bd::frame_cache::transfer_batch * block_bytes;
  std::vector<void*> blocks(n);
  allocate_on_another_thread(blocks);  // the producer
  const std::size_t before = bd::central_pool_bytes();
  free_on_another_thread(blocks);  // the importer
  const std::size_t given = bd::central_pool_bytes() - before;
  EXPECT_GE(given, n * block_bytes - bd::frame_cache::importer_cached_bytes - batch);
  EXPECT_EQ(given % batch, 0u) << "whole batches only";
  allocate_on_another_thread(blocks);  // the consumer
  EXPECT_LE(bd::central_pool_bytes(), before + batch) << "the consumer asked malloc instead";
  free_on_another_thread(blocks);
}

TEST(FrameCache, ABurstsBlocksServeTheNextBurstOnAnotherThread) {
  if (!bd::frame_cache_enabled) GTEST_SKIP() << "the cache is bypassed under ASan";
  // One thread allocates and frees 16 MiB of its own (a spawn+join burst):
  // it keeps its cap, the rest reaches the central pool. The next burst runs
  // on another thread (the spawning task moved to the other worker) and is
  // served from the pool, not by malloc. With a private cap larger than the
  // burst, the blocks stayed on the first thread and the second burst paid
  // malloc and page faults: the bimodal multi_thread spawn+join.
  const std::size_t n = (std::size_t{16} << 20) / block_bytes;
  const std::size_t batch = bd::frame_cache::transfer_batch * block_bytes;
  std::size_t before = 0;  // after the first burst's allocations (which may drain the pool)
  std::size_t kept = 0;
  std::thread first([&] {
    std::vector<void*> blocks;
    blocks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) blocks.push_back(bd::allocate_block(block_bytes));
    before = bd::central_pool_bytes();
    for (void* b : blocks) bd::free_block(b, block_bytes);
    kept = cached_bytes_here();
  });
  first.join();
  EXPECT_LE(kept, bd::frame_cache::max_cached_bytes);
  const std::size_t given = bd::central_pool_bytes() - before;
  EXPECT_GE(given, n * block_bytes - bd::frame_cache::max_cached_bytes - batch);
  std::vector<void*> blocks(n);
  allocate_on_another_thread(blocks);  // the second burst
  EXPECT_LE(bd::central_pool_bytes(), before + batch) << "the second burst asked malloc";
  free_on_another_thread(blocks);
}
