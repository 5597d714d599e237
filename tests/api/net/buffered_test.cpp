#include <brigade/net/buffered.hpp>

#include <brigade/net/unix_stream.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <string>

namespace bg = brigade;
namespace bn = brigade::net;

BRIGADE_IO_SUITE(Buffered);

BRIGADE_IO_TEST(Buffered, ReadsLinesAcrossSmallWrites) {
  auto [a, b] = bn::unix_stream::pair();
  auto writer = bg::spawn([](bn::unix_stream& s) -> bg::task<> {
    bn::buffered_writer w{s, 16};
    for (const char* piece : {"first li", "ne\r\nsecond", "\nthird line without end"}) {
      co_await w.write(piece);
      co_await w.flush();
      co_await bg::yield_now();
    }
    s.shutdown_write();
  }(a));
  bn::buffered_reader r{b, 4};  // tiny: forces the buffer to grow
  EXPECT_EQ(co_await r.read_line(), std::optional<std::string>("first line"));
  EXPECT_EQ(co_await r.read_line(), std::optional<std::string>("second"));
  EXPECT_EQ(co_await r.read_until('\n'), std::optional<std::string>("third line without end"));
  EXPECT_EQ(co_await r.read_line(), std::nullopt);
  co_await writer;
}
