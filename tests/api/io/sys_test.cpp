#include <brigade/detail/sys.hpp>

#include <brigade/net/unix_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"
#include "support/fault_injection.hpp"

#include <gtest/gtest.h>

#include <linux/io_uring.h>
#include <sys/socket.h>

#include <system_error>
#include <vector>

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

namespace {

// io_uring_setup wrappers that record the setup flags asked for. Statics:
// the table must outlive every call.
std::vector<unsigned> setup_flags;

int recording_setup(unsigned entries, io_uring_params* p) {
  setup_flags.push_back(p->flags);
  return sys::real().io_uring_setup(entries, p);
}

int refuse_flags_setup(unsigned entries, io_uring_params* p) {
  setup_flags.push_back(p->flags);
  if (p->flags != 0) return -EINVAL;  // an older kernel
  return sys::real().io_uring_setup(entries, p);
}

bool echo_one_byte(bg::io_backend b) {
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::current_thread, .io = b}};
  return rt.block_on([]() -> bg::task<bool> {
    auto [x, y] = bg::net::unix_stream::pair();
    auto reader = bg::spawn([](bg::net::unix_stream& s) -> bg::task<char> {
      char c = 0;
      co_await s.read_exact(bg::net::mutable_buffer{&c, 1});
      co_return c;
    }(x));
    co_await bg::yield_now();
    co_await y.write_all("q");
    co_return co_await reader == 'q';
  }());
}

}  // namespace

// The ring asks for COOP_TASKRUN | TASKRUN_FLAG; a kernel that refuses them
// gets a plain ring, and I/O works either way.
TEST(Sys, IoUringRingFlagsFallBackWhenRefused) {
  if (!bg::testing::backend_available(bg::io_backend::io_uring)) {
    GTEST_SKIP() << "io_uring is not available here";
  }
  const unsigned wanted = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  for (auto setup : {&recording_setup, &refuse_flags_setup}) {
    static sys::table t;
    t = sys::real();
    t.io_uring_setup = setup;
    setup_flags.clear();
    const sys::table* previous = sys::install(&t);
    const bool ok = echo_one_byte(bg::io_backend::io_uring);
    sys::install(previous);
    EXPECT_TRUE(ok);
    ASSERT_FALSE(setup_flags.empty());
    EXPECT_EQ(setup_flags.front(), wanted);
    if (setup == &refuse_flags_setup) {
      ASSERT_EQ(setup_flags.size(), 2u);
      EXPECT_EQ(setup_flags.back(), 0u);
    } else {
      EXPECT_EQ(setup_flags.size(), 1u);  // this kernel (>= 5.19) accepts them
    }
  }
}
