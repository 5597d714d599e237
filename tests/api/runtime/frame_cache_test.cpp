// The per-thread frame cache (detail/frame_allocator.hpp): a thread that
// frees blocks other threads allocated (a net importer: a server whose
// accept loop spawns on one worker while the connections end on another)
// caches at most importer_cached_bytes; the rest goes, in batches, to the
// central pool, where threads that allocate take it before they ask malloc.

#include <brigade/detail/frame_allocator.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <thread>
#include <vector>

namespace bd = brigade::detail;

namespace {

constexpr std::size_t block_bytes = 768;

std::size_t cached_bytes_here() { return bd::tl_frame_cache.cached_bytes; }

}  // namespace

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

TEST(FrameCache, AThreadThatFreesItsOwnBlocksKeepsThemAll) {
  if (!bd::frame_cache_enabled) GTEST_SKIP() << "the cache is bypassed under ASan";
  std::size_t cached = 0;
  const std::size_t n = (std::size_t{4} << 20) / block_bytes;
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
  std::vector<void*> blocks;
  blocks.reserve(n);
  std::thread producer([&] {
    for (std::size_t i = 0; i < n; ++i) blocks.push_back(bd::allocate_block(block_bytes));
  });
  producer.join();
  const std::size_t before = bd::central_pool_bytes();
  std::thread importer([&] {
    for (void* b : blocks) bd::free_block(b, block_bytes);
  });
  importer.join();
  const std::size_t given = bd::central_pool_bytes() - before;
  EXPECT_GE(given, n * block_bytes - bd::frame_cache::importer_cached_bytes - batch);
  EXPECT_EQ(given % batch, 0u) << "whole batches only";
  std::thread consumer([&] {
    for (std::size_t i = 0; i < n; ++i) blocks[i] = bd::allocate_block(block_bytes);
  });
  consumer.join();
  EXPECT_LE(bd::central_pool_bytes(), before + batch) << "the consumer asked malloc instead";
  std::thread cleanup([&] {
    for (void* b : blocks) bd::free_block(b, block_bytes);
  });
  cleanup.join();
}
