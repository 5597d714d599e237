#include <brigade/process.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/net/buffered.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <csignal>
#include <string>
#include <system_error>

namespace bg = brigade;
namespace bp = brigade::process;

BRIGADE_IO_SUITE(Process);

BRIGADE_IO_TEST(Process, PipesStdinToStdoutAndReportsExit) {
  auto c = bp::spawn({.args = {"cat"}, .in = bp::stdio::piped, .out = bp::stdio::piped});
  auto reader = bg::spawn([](bg::net::unix_stream& out) -> bg::task<std::string> {
    std::string all;
    char buf[256];
    while (std::size_t n = co_await out.read(buf)) all.append(buf, n);
    co_return all;
  }(c.stdout_pipe()));
  std::string big(100000, 'x');
  co_await c.stdin_pipe().write_all(big);
  c.stdin_pipe().close();  // EOF for cat
  EXPECT_EQ((co_await reader).size(), big.size());
  const bp::exit_status s = co_await c.wait();
  EXPECT_TRUE(s.success());
  EXPECT_EQ((co_await c.wait()).code, 0);  // the same status again
}

BRIGADE_IO_TEST(Process, ExitCodeStderrAndSignals) {
  auto c = bp::spawn({.args = {"sh", "-c", "echo oops >&2; exit 3"}, .err = bp::stdio::piped});
  bg::net::buffered_reader r{c.stderr_pipe()};
  EXPECT_EQ(co_await r.read_line(), std::optional<std::string>("oops"));
  const auto s = co_await c.wait();
  EXPECT_EQ(s.code, 3);
  EXPECT_FALSE(s.success());

  auto sleeper = bp::spawn({.args = {"sleep", "30"}});
  auto waiting = bg::spawn(sleeper.wait());
  for (int i = 0; i < 3; ++i) co_await bg::yield_now();
  waiting.abort();  // a cancelled wait leaves the child running
  bool cancelled = false;
  try {
    co_await waiting;
  } catch (const bg::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  sleeper.kill(SIGTERM);
  EXPECT_EQ((co_await sleeper.wait()).signal, SIGTERM);
}

BRIGADE_IO_TEST(Process, MissingProgramIsASystemError) {
  try {
    bp::spawn({.args = {"/nonexistent/brigade-no-such-program"}});
    ADD_FAILURE() << "spawned a missing program";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("spawn /nonexistent"), std::string::npos) << e.what();
  }
  co_return;
}
