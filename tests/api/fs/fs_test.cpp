#include <brigade/fs.hpp>

#include "api/io/io_test.hpp"

#include <unistd.h>

#include <string>
#include <system_error>

namespace bg = brigade;
namespace bf = brigade::fs;

namespace {

std::string temp_path(const char* name) {
  return "/tmp/brigade_fs_test_" + std::to_string(::getpid()) + "_" + name;
}

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
