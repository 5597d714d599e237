// Slow, half-closed and resetting clients (RELIABILITY.md R13, R9-style
// isolation for an echo server), on both backends and both flavors.

#include <brigade/cancelled.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/time/timeout.hpp>

#include "api/io/io_test.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;
using namespace std::chrono_literals;

namespace {

/// Makes SIGPIPE fatal again for a scope, so that a send without
/// MSG_NOSIGNAL would kill the test instead of passing unnoticed.
class sigpipe_is_fatal {
 public:
  sigpipe_is_fatal() { previous_ = ::signal(SIGPIPE, SIG_DFL); }
  sigpipe_is_fatal(const sigpipe_is_fatal&) = delete;
  sigpipe_is_fatal& operator=(const sigpipe_is_fatal&) = delete;
  ~sigpipe_is_fatal() { ::signal(SIGPIPE, previous_); }

 private:
  sighandler_t previous_;
};

void reset_on_close(bn::tcp_stream& s) {
  const linger lg{1, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

char pattern_byte(std::size_t i) { return static_cast<char>((i * 131 + 17) % 251); }

constexpr std::size_t response_size = 16 << 20;  // more than loopback buffers hold

struct response_result {
  char who = 0;
  std::size_t sent = 0;
  int err = 0;
  std::string what;
};

/// Reads a one-byte request, then streams response_size bytes.
bg::task<response_result> respond(bn::tcp_stream s) {
  response_result r;
  std::vector<char> chunk(64 * 1024);
  try {
    co_await s.read_exact(bn::mutable_buffer{&r.who, 1});
    while (r.sent < response_size) {
      for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = pattern_byte(r.sent + i);
      co_await s.write_all(chunk);
      r.sent += chunk.size();
    }
  } catch (const std::system_error& e) {
    r.err = e.code().value();
    r.what = e.what();
  }
  s.close();
  co_return r;
}

}  // namespace

BRIGADE_IO_SUITE(NetRobustness);

// R13: a client that resets while the server streams a large response fails
// that response's task only (ECONNRESET/EPIPE as std::system_error naming the
// operation and peer, no SIGPIPE); a second client beside it gets every byte.
BRIGADE_IO_TEST(NetRobustness, RstMidResponseErrorsOnlyThatTask) {
  sigpipe_is_fatal guard;
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  auto server = bg::spawn([](bn::tcp_listener& lst) -> bg::task<std::vector<response_result>> {
    std::vector<bg::join_handle<response_result>> hs;
    for (int i = 0; i < 2; ++i) {
      auto a = co_await lst.accept();
      hs.push_back(bg::spawn(respond(std::move(a.stream))));
    }
    std::vector<response_result> rs;
    for (auto& h : hs) rs.push_back(co_await h);
    co_return rs;
  }(l));
  auto bad = bg::spawn([](bn::address where) -> bg::task<> {
    auto s = co_await bn::tcp_stream::connect(where);
    co_await s.write_all("a");
    std::vector<char> some(1000);
    co_await s.read_exact(some);
    reset_on_close(s);
    s.close();  // RST while the server is mid-response
  }(l.local_address()));
  auto good = co_await bn::tcp_stream::connect(l.local_address());
  co_await good.write_all("b");
  std::vector<char> buf(64 * 1024);
  std::size_t got = 0;
  std::size_t wrong = 0;
  for (;;) {
    const std::size_t n = co_await good.read(buf);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) wrong += buf[i] != pattern_byte(got + i) ? 1 : 0;
    got += n;
  }
  co_await bad;
  EXPECT_EQ(got, response_size);
  EXPECT_EQ(wrong, 0u);
  const auto results = co_await server;
  EXPECT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    if (r.who == 'b') {
      EXPECT_EQ(r.err, 0) << r.what;
      EXPECT_EQ(r.sent, response_size);
    } else {
      EXPECT_EQ(r.who, 'a');
      EXPECT_TRUE(r.err == ECONNRESET || r.err == EPIPE) << r.err << " " << r.what;
      EXPECT_LT(r.sent, response_size);
      EXPECT_EQ(r.what.rfind("write 127.0.0.1:", 0), 0u) << r.what;
    }
  }
}

namespace {

constexpr auto idle_limit = 300ms;

struct server_log {
  std::atomic<int> served{0};
  std::atomic<int> timed_out{0};
  std::atomic<int> errors{0};
};

/// The echo server's connection task: echo until EOF; a client silent for
/// idle_limit is dropped (slowloris); an error ends this connection only.
bg::task<> guarded_echo(bn::tcp_stream s, server_log& log) {
  std::vector<char> buf(4096);
  try {
    for (;;) {
      auto rd = s.read(buf);
      const std::size_t n = co_await bg::timeout(idle_limit, std::move(rd));
      if (n == 0) break;
      co_await s.write_all(bn::const_buffer{buf.data(), n});
    }
    ++log.served;
  } catch (const bg::timed_out&) {
    ++log.timed_out;
  } catch (const std::system_error&) {
    ++log.errors;
  }
  s.close();
}

bg::task<> echo_server(bn::tcp_listener& l, server_log& log) {
  std::vector<bg::join_handle<void>> conns;
  try {
    for (;;) {
      auto a = co_await l.accept();
      conns.push_back(bg::spawn(guarded_echo(std::move(a.stream), log)));
    }
  } catch (const bg::cancelled&) {
  }
  for (auto& c : conns) {
    c.abort();  // the test ends: a connection still waiting is dropped
    try {
      co_await c;
    } catch (const bg::cancelled&) {
    }
  }
}

/// Sends one byte every `gap`, `count` times; returns how the server ended
/// it: "eof", "error" or "served" (all bytes echoed).
bg::task<std::string> trickle(bn::address where, std::chrono::milliseconds gap, int count) {
  auto s = co_await bn::tcp_stream::connect(where);
  char c = 0;
  try {
    for (int i = 0; i < count; ++i) {
      co_await bg::sleep(gap);
      co_await s.write_all("t");
      if (co_await s.read(bn::mutable_buffer{&c, 1}) == 0) co_return "eof";
    }
  } catch (const std::system_error&) {
    co_return "error";
  }
  co_return "served";
}

}  // namespace

// R9/R13: one echo server, a healthy client doing 100 round trips, and
// beside it bad clients: one resets mid-message, one never speaks, one
// trickles slower than the idle limit (slowloris), one floods without reading,
// one half-closes (and must get its full reply, then EOF). The healthy client
// sees 0 failures, the slow ones are dropped, the server keeps serving.
BRIGADE_IO_TEST(NetRobustness, EchoServerIsolatesBadClients) {
  sigpipe_is_fatal guard;
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  server_log log;
  auto server = bg::spawn(echo_server(l, log));
  const bn::address where = l.local_address();

  auto resetter = bg::spawn([](bn::address a) -> bg::task<> {
    for (int i = 0; i < 5; ++i) {
      auto s = co_await bn::tcp_stream::connect(a);
      co_await s.write_all("half a messa");
      reset_on_close(s);
      s.close();
    }
  }(where));
  auto silent = bg::spawn([](bn::address a) -> bg::task<std::size_t> {
    auto s = co_await bn::tcp_stream::connect(a);
    char c;
    co_return co_await s.read(bn::mutable_buffer{&c, 1});  // the server drops us: EOF
  }(where));
  auto slowloris = bg::spawn(trickle(where, 2 * idle_limit, 3));
  auto patient = bg::spawn(trickle(where, idle_limit / 6, 4));
  auto flooder = bg::spawn([](bn::address a) -> bg::task<> {
    auto s = co_await bn::tcp_stream::connect(a);
    std::vector<char> junk(1 << 20, 'j');
    // Never reads: the server's write blocks on this connection only. Stops
    // writing once the buffers are full (a write that does not finish).
    for (int i = 0; i < 16; ++i) {
      auto w = s.write_all(junk);
      try {
        co_await bg::timeout(50ms, std::move(w));
      } catch (const bg::timed_out&) {
        break;
      }
    }
    co_await bg::sleep(idle_limit);
    reset_on_close(s);
  }(where));
  auto half = bg::spawn([](bn::address a) -> bg::task<bool> {
    auto s = co_await bn::tcp_stream::connect(a);
    const std::string msg(20000, 'h');
    co_await s.write_all(msg);
    s.shutdown_write();
    std::string back(msg.size(), '\0');
    const std::size_t n = co_await s.read_exact(back);
    char extra;
    const std::size_t more = co_await s.read(bn::mutable_buffer{&extra, 1});
    co_return n == msg.size() && back == msg&& more == 0;
  }(where));

  // The healthy client.
  int failures = 0;
  {
    auto s = co_await bn::tcp_stream::connect(where);
    std::string msg(100, '\0');
    std::string back(100, '\0');
    for (int i = 0; i < 100; ++i) {
      for (std::size_t k = 0; k < msg.size(); ++k) msg[k] = static_cast<char>('a' + (i + k) % 26);
      try {
        co_await s.write_all(msg);
        if (co_await s.read_exact(back) != msg.size() || back != msg) ++failures;
      } catch (const std::system_error&) {
        ++failures;
      }
      if (i % 10 == 0) co_await bg::sleep(5ms);
    }
  }
  EXPECT_EQ(failures, 0);

  co_await resetter;
  EXPECT_EQ(co_await silent, 0u);
  const std::string slow_end = co_await slowloris;
  EXPECT_TRUE(slow_end == "eof" || slow_end == "error") << slow_end;
  EXPECT_EQ(co_await patient, "served");
  co_await flooder;
  EXPECT_TRUE(co_await half);

  // Still serving after all that.
  auto s = co_await bn::tcp_stream::connect(where);
  co_await s.write_all("still here");
  char back[10];
  EXPECT_EQ(co_await s.read_exact(back), 10u);
  EXPECT_EQ(std::string(back, 10), "still here");
  s.close();

  EXPECT_GE(log.timed_out.load(), 2);  // the silent one and the slowloris
  // Healthy, half-closed, patient and the last one end with EOF; the server
  // may see the last EOFs a moment after their clients finished.
  for (int i = 0; i < 200 && log.served.load() < 4; ++i) co_await bg::sleep(10ms);
  EXPECT_GE(log.served.load(), 4);
  EXPECT_GE(log.errors.load(), 1);  // at least the flooder's reset
  server.abort();
  try {
    co_await server;
  } catch (const bg::cancelled&) {
  }
}
