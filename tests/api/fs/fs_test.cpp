#include <brigade/cancelled.hpp>
#include <brigade/fs.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <unistd.h>

#include <string>
#include <system_error>
#include <vector>

namespace bg = brigade;
namespace bf = brigade::fs;

namespace {

std::string temp_path(const char* name) {
  return "/tmp/brigade_fs_test_" + std::to_string(::getpid()) + "_" + name;
}

brigade::net::mutable_buffer bn_buffer(char* c) { return brigade::net::mutable_buffer{c, 1}; }

}  // namespace

BRIGADE_IO_SUITE(Fs);

BRIGADE_IO_TEST(Fs, WriteThenReadWholeFile) {
  const std::string p = temp_path("whole");
  std::string data(200000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 253);
  co_await bf::write_file(p, data);
  EXPECT_EQ(co_await bf::read_file(p), data);
  ::unlink(p.c_str());
}

BRIGADE_IO_TEST(Fs, FilePositionalAppendSizeFsync) {
  const std::string p = temp_path("file");
  {
    auto f = co_await bf::file::open(p, bf::open_mode::read_write);
    co_await f.write_at("hello world", 0);
    co_await f.write_at("W", 6);
    char buf[5];
    EXPECT_EQ(co_await f.read_at(buf, 6), 5u);
    EXPECT_EQ(std::string(buf, 5), "World");
    co_await f.append("!");
    EXPECT_EQ(co_await f.size(), 12u);
    co_await f.fsync();
    char tail[4];
    EXPECT_EQ(co_await f.read_at(tail, 100), 0u);  // past the end
  }
  auto a = co_await bf::file::open(p, bf::open_mode::append);
  co_await a.append("?");
  a.close();
  EXPECT_EQ(co_await bf::read_file(p), "hello World!?");
  ::unlink(p.c_str());
}

BRIGADE_IO_TEST(Fs, MissingFileNamesThePath) {
  const std::string p = temp_path("missing");
  try {
    co_await bf::read_file(p);
    ADD_FAILURE() << "read a missing file";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("open " + p), std::string::npos) << e.what();
  }
}

// Many positional reads and writes in flight at once on one file (on
// io_uring: all in the ring together), each at its own offset: every block
// lands where it was written and reads back byte-exact.
BRIGADE_IO_TEST(Fs, ConcurrentPositionalIoIsByteExact) {
  const std::string p = temp_path("concurrent");
  constexpr int blocks = 32;
  constexpr std::size_t block = 4096;
  auto f = co_await bf::file::open(p, bf::open_mode::read_write);
  std::vector<bg::join_handle<void>> writers;
  for (int i = 0; i < blocks; ++i) {
    writers.push_back(bg::spawn([](bf::file& file, int k) -> bg::task<> {
      const std::string data(block, static_cast<char>('a' + k % 26));
      co_await file.write_at(data, static_cast<std::uint64_t>(k) * block);
    }(f, i)));
  }
  for (auto& w : writers) co_await w;
  co_await f.fsync();
  EXPECT_EQ(co_await f.size(), blocks * block);
  std::vector<bg::join_handle<bool>> readers;
  for (int i = blocks - 1; i >= 0; --i) {
    readers.push_back(bg::spawn([](bf::file& file, int k) -> bg::task<bool> {
      std::string got(block, '\0');
      const std::size_t n = co_await file.read_at(got, static_cast<std::uint64_t>(k) * block);
      const std::string want(block, static_cast<char>('a' + k % 26));
      co_return n == block&& got == want;
    }(f, i)));
  }
  int good = 0;
  for (auto& r : readers) good += co_await r ? 1 : 0;
  EXPECT_EQ(good, blocks);
  f.close();
  ::unlink(p.c_str());
}

// On io_uring, positional I/O and fsync run in the ring: with the file
// open (open uses the blocking pool: one thread), 64 concurrent operations
// start no further blocking thread.
TEST(FsNative, IoUringUsesNoBlockingThreads) {
  if (!bg::testing::uring_completions_available()) {
    GTEST_SKIP() << "io_uring completion-based operations are not available here (Linux < 6.0)";
  }
  for (auto fl : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
    SCOPED_TRACE(bg::testing::flavor_name(fl));
    bg::runtime rt{
        bg::runtime_options{.flavor = fl, .worker_threads = 2, .io = bg::io_backend::io_uring}};
    const std::size_t threads = rt.block_on([]() -> bg::task<std::size_t> {
      const std::string p = temp_path("native");
      auto f = co_await bf::file::open(p, bf::open_mode::read_write);
      const std::size_t after_open = bg::current_runtime().metrics().blocking_threads;
      EXPECT_EQ(after_open, 1u);
      std::vector<bg::join_handle<void>> ops;
      for (int i = 0; i < 64; ++i) {
        ops.push_back(bg::spawn([](bf::file& file, int k) -> bg::task<> {
          co_await file.write_at("x", static_cast<std::uint64_t>(k));
          char c;
          EXPECT_EQ(co_await file.read_at(bn_buffer(&c), static_cast<std::uint64_t>(k)), 1u);
          if (k % 8 == 0) co_await file.fsync();
        }(f, i)));
      }
      for (auto& op : ops) co_await op;
      const std::size_t threads_now = bg::current_runtime().metrics().blocking_threads;
      f.close();
      ::unlink(p.c_str());
      co_return threads_now;
    }());
    EXPECT_EQ(threads, 1u);
  }
}

// io_uring: an aborted native read completes exactly once: it returns its
// count (the read won) or throws brigade::cancelled, and its buffer (owned
// by the aborted task) is never written after the task ended (ASan/TSan
// builds check). io_uring only: on the blocking pool a cancelled read keeps
// running on the pool (documented), so the file could not be closed here.
bg::task<> aborted_reads_complete_once() {
  const std::string p = temp_path("abort");
  co_await bf::write_file(p, std::string(65536, 'r'));
  auto f = co_await bf::file::open(p, bf::open_mode::read);
  int completed = 0;
  int cancelled = 0;
  for (int i = 0; i < 500; ++i) {
    auto reader = bg::spawn([](bf::file& file) -> bg::task<std::size_t> {
      std::vector<char> buf(65536);
      co_return co_await file.read_at(buf, 0);
    }(f));
    if (i % 2 == 0) co_await bg::yield_now();
    reader.abort();
    try {
      EXPECT_EQ(co_await reader, 65536u);
      ++completed;
    } catch (const bg::cancelled&) {
      ++cancelled;
    }
  }
  EXPECT_EQ(completed + cancelled, 500);
  char c;
  EXPECT_EQ(co_await f.read_at(bn_buffer(&c), 10), 1u);
  EXPECT_EQ(c, 'r');
  f.close();
  ::unlink(p.c_str());
}

TEST(FsNative, AbortedReadsCompleteOnce) {
  if (!bg::testing::uring_completions_available()) {
    GTEST_SKIP() << "io_uring completion-based operations are not available here (Linux < 6.0)";
  }
  bg::testing::run_io_test(&aborted_reads_complete_once, bg::io_backend::io_uring);
}
