// Running out of descriptors or kernel memory (issue #5 item 6), with the
// failures injected through the syscall seam:
//   - tcp_listener::accept() backs off on EMFILE: the schedule, checked in
//     virtual time (paused clock). The real-limit version, with a lowered
//     RLIMIT_NOFILE and a CPU bound, is tests/stress/net/emfile_test.cpp;
//   - a connect whose socket cannot be registered (ENOMEM from epoll_ctl)
//     fails with an error naming the operation and the address.

#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/clock.hpp>

#include "api/io/io_test.hpp"
#include "support/fault_injection.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

namespace bg = brigade;
namespace bn = brigade::net;
using bg::testing::fault;
using namespace std::chrono_literals;

namespace {

/// Virtual time one accept() takes when the first `failures` accept4 calls
/// fail with EMFILE and a connection is waiting in the backlog.
bg::duration accept_time(bg::io_backend backend, bg::flavor fl, int failures) {
  // max_faults 0 would mean "no limit": with no failures, enable no fault.
  bg::testing::fault_injection faults{
      {.probability = 1.0,
       .faults = failures == 0 ? 0u : static_cast<std::uint32_t>(fault::emfile),
       .max_faults = static_cast<std::uint64_t>(failures)}};
  bg::duration took{};
  {
    bg::runtime rt{bg::runtime_options{
        .flavor = fl, .worker_threads = 2, .io = backend, .clock = bg::clock_kind::paused}};
    took = rt.block_on([]() -> bg::task<bg::duration> {
      auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
      // The handshake completes in the kernel: the connection waits in the
      // backlog before accept() starts.
      auto c = co_await bn::tcp_stream::connect(l.local_address());
      const auto start = bg::now();
      auto a = co_await l.accept();
      const auto took_here = bg::now() - start;
      co_await a.stream.write_all("k");
      char k = 0;
      EXPECT_EQ(co_await c.read_exact(bn::mutable_buffer{&k, 1}), 1u);
      EXPECT_EQ(k, 'k');
      co_return took_here;
    }());
  }
  EXPECT_EQ(faults.injected(), static_cast<std::uint64_t>(failures));
  return took;
}

}  // namespace

// 5 ms, doubling, capped at 1 s: 11 failures wait
// 5+10+20+40+80+160+320+640+1000+1000+1000 ms, then the connection is served.
TEST(TcpListenerBackoff, DoublesFrom5msTo1sThenServes) {
  for (auto backend : {bg::io_backend::epoll, bg::io_backend::io_uring}) {
    if (!bg::testing::backend_available(backend)) continue;
    for (auto fl : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
      SCOPED_TRACE(std::string(bg::testing::backend_name(backend)) + "/" +
                   bg::testing::flavor_name(fl));
      const auto none = accept_time(backend, fl, 0);
      EXPECT_LT(none, 1ms);
      const auto one = accept_time(backend, fl, 1);
      EXPECT_GE(one, 5ms);
      EXPECT_LT(one, 7ms);
      const auto capped = accept_time(backend, fl, 11);
      EXPECT_GE(capped, 4275ms);
      EXPECT_LT(capped, 4275ms + 11 * 2ms) << "each back-off overshoots by < 2 ms";
    }
  }
}

// Regression (found by the fault sweep, tests/stress/net): the error used to
// be "epoll_ctl ADD: Cannot allocate memory", naming neither the operation
// nor the peer. epoll only: io_uring registers without a syscall.
TEST(TcpStreamRegistration, ConnectFailureNamesOperationAndPeer) {
  for (auto fl : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
    SCOPED_TRACE(bg::testing::flavor_name(fl));
    bg::runtime rt{
        bg::runtime_options{.flavor = fl, .worker_threads = 2, .io = bg::io_backend::epoll}};
    rt.block_on([]() -> bg::task<> {
      auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
      bg::testing::fault_injection faults{{.probability = 1.0,
                                           .faults = static_cast<std::uint32_t>(fault::enomem),
                                           .max_faults = 1}};
      try {
        co_await bn::tcp_stream::connect(l.local_address());
        ADD_FAILURE() << "connect succeeded";
      } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOMEM);
        EXPECT_EQ(std::string(e.what()).rfind("connect " + l.local_address().to_string(), 0), 0u)
            << e.what();
      }
      EXPECT_EQ(faults.injected(), 1u);
      // The next connect registers normally.
      auto c = co_await bn::tcp_stream::connect(l.local_address());
      EXPECT_TRUE(c.is_open());
    }());
  }
}
