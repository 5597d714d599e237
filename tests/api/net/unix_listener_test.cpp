#include <brigade/net/unix_listener.hpp>

#include <brigade/net/resolve.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <unistd.h>

#include <string>
#include <system_error>

namespace bg = brigade;
namespace bn = brigade::net;

BRIGADE_IO_SUITE(UnixListener);

BRIGADE_IO_TEST(UnixListener, AcceptsAndEchoes) {
  const std::string path = "/tmp/brigade_unix_test_" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  auto l = co_await bn::unix_listener::bind(path);
  auto accepting = bg::spawn(l.accept());
  auto c = co_await bn::unix_stream::connect(path);
  auto s = co_await accepting;
  co_await c.write_all("unix");
  char buf[4];
  EXPECT_EQ(co_await s.read_exact(buf), 4u);
  EXPECT_EQ(std::string(buf, 4), "unix");
  ::unlink(path.c_str());
  try {
    co_await bn::unix_stream::connect(path);
    ADD_FAILURE() << "connected to a removed socket";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("connect " + path), std::string::npos) << e.what();
  }
}

BRIGADE_IO_TEST(UnixListener, ResolveNumericAndLocalhost) {
  auto v = co_await bn::resolve("127.0.0.1", 80);
  BRIGADE_CO_ASSERT(v.size() == 1u);
  EXPECT_EQ(v[0].to_string(), "127.0.0.1:80");
  auto local = co_await bn::resolve("localhost", 8080);
  EXPECT_FALSE(local.empty());
  for (const auto& a : local) EXPECT_EQ(a.port(), 8080);
}
