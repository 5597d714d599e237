// 200 concurrent echo connections with per-connection byte checks, on each
// backend, for 1, 2 and 4 worker threads (and current_thread as "0").

#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;

namespace {

constexpr int connections = 200;
constexpr std::size_t bytes_per_connection = 16 * 1024;

bg::task<> echo(bn::tcp_stream s) {
  std::vector<char> buf(2048);
  for (;;) {
    const std::size_t n = co_await s.read(buf);
    if (n == 0) break;
    co_await s.write_all(bn::const_buffer{buf.data(), n});
  }
  s.close();
}

bg::task<> serve(bn::tcp_listener& l) {
  std::vector<bg::join_handle<void>> conns;
  for (int i = 0; i < connections; ++i) {
    auto a = co_await l.accept();
    conns.push_back(bg::spawn(echo(std::move(a.stream))));
  }
  for (auto& c : conns) co_await c;
}

bg::task<std::size_t> client(bn::address server, unsigned seed) {
  auto s = co_await bn::tcp_stream::connect(server);
  std::vector<char> out(bytes_per_connection);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>((i * 7 + seed) % 241);
  auto writer = bg::spawn([](bn::tcp_stream& st, const std::vector<char>& d) -> bg::task<> {
    // Several writes per connection so reads and writes interleave.
    for (std::size_t off = 0; off < d.size(); off += 4096) {
      co_await st.write_all(
          bn::const_buffer{d.data() + off, std::min<std::size_t>(4096, d.size() - off)});
    }
    st.shutdown_write();
  }(s, out));
  std::vector<char> in(out.size());
  const std::size_t got = co_await s.read_exact(in);
  co_await writer;
  std::size_t bad = got == in.size() ? 0 : 1;
  for (std::size_t i = 0; i < got; ++i) bad += in[i] != out[i] ? 1 : 0;
  co_return bad;
}

bg::task<std::size_t> run_echo() {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  auto server = bg::spawn(serve(l));
  std::vector<bg::join_handle<std::size_t>> clients;
  for (int i = 0; i < connections; ++i) {
    clients.push_back(bg::spawn(client(l.local_address(), static_cast<unsigned>(i))));
  }
  std::size_t bad = 0;
  for (auto& c : clients) bad += co_await c;
  co_await server;
  co_return bad;
}

class EchoStress : public ::testing::TestWithParam<std::tuple<bg::io_backend, int>> {};

}  // namespace

TEST_P(EchoStress, TwoHundredConnectionsByteExact) {
  const auto [backend, threads] = GetParam();
  if (!bg::testing::backend_available(backend)) GTEST_SKIP() << "backend unavailable";
  const int fds_before = bg::testing::open_fds();
  {
    bg::runtime_options o;
    o.flavor = threads == 0 ? bg::flavor::current_thread : bg::flavor::multi_thread;
    o.worker_threads = static_cast<std::size_t>(threads == 0 ? 1 : threads);
    o.io = backend;
    // A fresh runtime per round: a second block_on on the same multi_thread
    // runtime after I/O currently hangs (reported to the lead).
    for (int round = 0; round < 3; ++round) {
      bg::runtime rt{o};
      EXPECT_EQ(rt.block_on(run_echo()), 0u);
    }
  }
  EXPECT_EQ(bg::testing::open_fds(), fds_before);
}

INSTANTIATE_TEST_SUITE_P(
    net, EchoStress,
    ::testing::Combine(::testing::Values(bg::io_backend::epoll, bg::io_backend::io_uring),
                       ::testing::Values(0, 1, 2, 4)),
    [](const auto& param_info) {
      return std::string(bg::testing::backend_name(std::get<0>(param_info.param))) + "_threads" +
             std::to_string(std::get<1>(param_info.param));
    });
