#include <brigade/detail/sys.hpp>

#include <brigade/runtime.hpp>

#include "api/io/io_test.hpp"
#include "support/fault_injection.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <system_error>

namespace bg = brigade;
namespace sys = brigade::detail::sys;

TEST(Sys, DefaultsToTheRealCallsAndInstallRestores) {
  EXPECT_EQ(&sys::get(), &sys::real());
  {
    bg::testing::fault_injection faults{{.faults = 0}};
    EXPECT_NE(&sys::get(), &sys::real());
  }
  EXPECT_EQ(&sys::get(), &sys::real());
}

TEST(Sys, InjectedFaultsAreSeededAndCounted) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  auto run = [&](std::uint64_t seed) {
    bg::testing::fault_injection faults{
        {.seed = seed,
         .probability = 0.5,
         .faults = static_cast<std::uint32_t>(bg::testing::fault::eintr)}};
    std::vector<int> errs;
    char c = 'x';
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = sys::get().write(fds[0], &c, 1);
      errs.push_back(n < 0 ? errno : 0);
    }
    EXPECT_GT(faults.injected(), 0u);
    EXPECT_LT(faults.injected(), 64u);
    return errs;
  };
  EXPECT_EQ(run(7), run(7));  // same seed, same faults
  EXPECT_NE(run(7), run(8));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Sys, RefusedIoUringFallsBackToEpoll) {
  bg::testing::fault_injection faults{
      {.faults = static_cast<std::uint32_t>(bg::testing::fault::refuse_io_uring)}};
  // io_uring requested explicitly: the refusal is an error.
  EXPECT_THROW((bg::runtime{bg::runtime_options{.flavor = bg::flavor::current_thread,
                                                .io = bg::io_backend::io_uring}}),
               std::system_error);
  // automatic: falls back to epoll and works.
  bg::runtime rt{
      bg::runtime_options{.flavor = bg::flavor::current_thread, .io = bg::io_backend::automatic}};
  EXPECT_EQ(rt.block_on([]() -> bg::task<int> { co_return 1; }()), 1);
}
