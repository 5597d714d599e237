// Syscall fault-injection sweep (RELIABILITY.md R10, issue #5 item 8): an
// echo server and its clients, all brigade tasks in one runtime, run with one
// fault class injected through the syscall seam (tests/support/
// fault_injection.hpp) at 1% and at 10% of the eligible calls, over 200 seeds,
// on each backend and each flavor.
//
// Each run: 4 connections, each sending 3 messages of 1..1500 bytes (seeded)
// and reading each echo before the next, then half-closing and expecting
// EOF. Every run is bounded (try_timeout) and must show:
//   - 0 corrupted bytes: whatever a client reads equals what it sent, in
//     order (a failed connection may stop early, never read wrong bytes);
//   - 0 hung connections: the run ends before its timeout;
//   - transient faults (EINTR, spurious EAGAIN, short reads/writes, EMFILE on
//     accept) retried transparently: every connection succeeds;
//   - fatal faults (ECONNRESET, EPIPE, ENOMEM on registration) fail only the
//     connection that met them, with a std::system_error naming the
//     operation, and an errno of that class (or an early EOF / a real reset
//     when the other side dropped the connection);
//   - the accept loop never dies: it is still waiting when the clients are
//     done, and is then aborted.

#include <brigade/cancelled.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/timeout.hpp>

#include "api/io/io_test.hpp"
#include "support/fault_injection.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;
using bg::testing::fault;
using namespace std::chrono_literals;

namespace {

constexpr int seeds = 200;
constexpr int connections = 4;
constexpr int messages = 3;

struct fault_class {
  const char* name;
  fault kind;
  bool transient;
};

constexpr fault_class classes[] = {
    {"eintr", fault::eintr, true},
    {"eagain", fault::eagain, true},
    {"short_io", fault::short_io, true},
    {"emfile", fault::emfile, true},
    {"econnreset", fault::econnreset, false},
    {"epipe", fault::epipe, false},
    {"enomem", fault::enomem, false},
};

/// What one run saw.
/// What one run saw (tasks of a multi_thread run update it concurrently).
struct tally {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> corrupted{0};
  std::atomic<int> unexpected{0};  // an error that the fault class cannot explain
  bool accept_loop_alive = false;
  std::mutex mutex;
  std::string first_problem;  // guarded by mutex
  void problem(const std::string& what) {
    ++unexpected;
    std::lock_guard lock(mutex);
    if (first_problem.empty()) first_problem = what;
  }
};

std::uint64_t mix(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// errnos a fatal fault class may surface: its own, and what the peer of a
/// dropped connection sees.
bool explained(int err, const fault_class& fc) {
  if (fc.transient) return false;
  return err == ECONNRESET || err == EPIPE || (fc.kind == fault::enomem && err == ENOMEM);
}

bool names_an_operation(const std::string& what) {
  for (const char* op : {"read", "write", "connect", "accept"}) {
    if (what.rfind(op, 0) == 0) return true;
  }
  return false;
}

bg::task<> echo(bn::tcp_stream s, const fault_class& fc, tally& t) {
  std::vector<char> buf(2048);
  try {
    for (;;) {
      const std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      co_await s.write_all(bn::const_buffer{buf.data(), n});
    }
  } catch (const std::system_error& e) {
    if (!explained(e.code().value(), fc)) t.problem(std::string("server: ") + e.what());
  }
  s.close();
}

bg::task<> accept_loop(bn::tcp_listener& l, const fault_class& fc, tally& t,
                       std::vector<bg::join_handle<void>>& conns) {
  for (;;) {
    auto a = co_await l.accept();
    a.stream.set_nodelay(true);  // short writes must not wait for delayed ACKs
    conns.push_back(bg::spawn(echo(std::move(a.stream), fc, t)));
  }
}

bg::task<> client(bn::address server, std::uint64_t seed, const fault_class& fc, tally& t) {
  std::uint64_t state = seed;
  std::vector<char> out;
  std::vector<char> in(1500);
  bool ok = false;
  try {
    auto s = co_await bn::tcp_stream::connect(server);
    s.set_nodelay(true);
    for (int m = 0; m < messages; ++m) {
      out.resize(1 + mix(state) % 1500);
      for (char& c : out) c = static_cast<char>(mix(state));
      co_await s.write_all(out);
      std::size_t got = 0;
      while (got < out.size()) {
        const std::size_t want = 1 + mix(state) % (out.size() - got);
        const std::size_t n = co_await s.read(bn::mutable_buffer{in.data() + got, want});
        if (n == 0) break;  // dropped by the server (a fatal fault there)
        for (std::size_t i = got; i < got + n; ++i) {
          if (in[i] != out[i]) ++t.corrupted;
        }
        got += n;
      }
      if (got < out.size()) {
        if (fc.transient) t.problem("client: early EOF under a transient fault");
        ++t.failed;
        co_return;
      }
    }
    s.shutdown_write();
    char extra = 0;
    const std::size_t n = co_await s.read(bn::mutable_buffer{&extra, 1});
    if (n != 0) t.problem("client: bytes after the last echo");
    ok = n == 0;
  } catch (const std::system_error& e) {
    if (!explained(e.code().value(), fc)) t.problem(std::string("client: ") + e.what());
    if (!names_an_operation(e.what())) t.problem(std::string("unclear error: ") + e.what());
  }
  ++(ok ? t.ok : t.failed);
}

bg::task<int> scenario(std::uint64_t seed, const fault_class& fc, tally& t) {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  std::vector<bg::join_handle<void>> conns;
  auto acceptor = bg::spawn(accept_loop(l, fc, t, conns));
  std::vector<bg::join_handle<void>> clients;
  for (int i = 0; i < connections; ++i) {
    clients.push_back(bg::spawn(client(l.local_address(), seed * 16 + i, fc, t)));
  }
  for (auto& c : clients) co_await c;
  t.accept_loop_alive = !acceptor.is_finished();
  acceptor.abort();
  try {
    co_await acceptor;
  } catch (const bg::cancelled&) {
  }
  for (auto& c : conns) co_await c;
  co_return 0;
}

using param = std::tuple<int, double>;  // class index, probability

class FaultSweep : public ::testing::TestWithParam<param> {};

}  // namespace

TEST_P(FaultSweep, NoCrashNoCorruptionNoHang) {
  const fault_class& fc = classes[std::get<0>(GetParam())];
  const double p = std::get<1>(GetParam());
  std::uint64_t injected = 0;
  int runs = 0;
  int ok = 0;
  int failed = 0;
  for (auto backend : {bg::io_backend::epoll, bg::io_backend::io_uring}) {
    if (!bg::testing::backend_available(backend)) continue;
    for (auto fl : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
      for (int seed = 1; seed <= seeds; ++seed) {
        SCOPED_TRACE(std::string(bg::testing::backend_name(backend)) + "/" +
                     bg::testing::flavor_name(fl) + " seed " + std::to_string(seed));
        tally t;
        std::optional<int> finished;
        auto faults = std::make_unique<bg::testing::fault_injection>(
            bg::testing::fault_plan{.seed = static_cast<std::uint64_t>(seed),
                                    .probability = p,
                                    .faults = static_cast<std::uint32_t>(fc.kind),
                                    // The listener's registration is the first epoll_ctl ADD: the
                                    // server must exist for the run to test anything.
                                    .skip_first = fc.kind == fault::enomem ? 1u : 0u});
        {
          bg::runtime rt{bg::runtime_options{.flavor = fl, .worker_threads = 2, .io = backend}};
          auto body = scenario(static_cast<std::uint64_t>(seed), fc, t);
          finished = rt.block_on(bg::try_timeout(10s, std::move(body)));
        }
        // The runtime is gone: no thread can be inside a faulty wrapper.
        injected += faults->injected();
        faults.reset();
        ++runs;
        ASSERT_TRUE(finished.has_value()) << "hung: the run did not end within 10 s";
        EXPECT_EQ(t.corrupted, 0);
        EXPECT_EQ(t.unexpected, 0) << t.first_problem;
        EXPECT_TRUE(t.accept_loop_alive) << "the accept loop ended";
        EXPECT_EQ(t.ok + t.failed, connections);
        if (fc.transient) {
          EXPECT_EQ(t.ok, connections);
        }
        ok += t.ok;
        failed += t.failed;
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
  std::printf(
      "[fault sweep] %s at %.0f%%: %d runs, %llu faults injected, %d connections ok, "
      "%d failed\n",
      fc.name, p * 100, runs, static_cast<unsigned long long>(injected), ok, failed);
  EXPECT_GT(injected, 0u) << "the sweep injected nothing";
}

INSTANTIATE_TEST_SUITE_P(net, FaultSweep,
                         ::testing::Combine(::testing::Range(0, 7), ::testing::Values(0.01, 0.1)),
                         [](const auto& param_info) {
                           return std::string(classes[std::get<0>(param_info.param)].name) + "_" +
                                  (std::get<1>(param_info.param) < 0.05 ? "1pct" : "10pct");
                         });
