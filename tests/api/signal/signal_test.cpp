#include <brigade/signal.hpp>

#include <brigade/cancelled.hpp>
#include <brigade/spawn.hpp>

#include "api/io/io_test.hpp"

#include <csignal>
#include <stdexcept>

namespace bg = brigade;

namespace {

// SIGUSR1 is blocked in every thread of this test program before any
// runtime exists (threads inherit the mask), as signal::block documents.
const bool blocked = [] {
  bg::signal::block(SIGUSR1);
  bg::signal::block(SIGUSR2);
  return true;
}();

}  // namespace

BRIGADE_IO_SUITE(Signal);

BRIGADE_IO_TEST(Signal, ReceivesAProcessSignal) {
  EXPECT_TRUE(blocked);
  auto waiter = bg::spawn(bg::signal::received(SIGUSR1));
  for (int i = 0; i < 5; ++i) co_await bg::yield_now();
  EXPECT_FALSE(waiter.is_finished());
  ::kill(::getpid(), SIGUSR1);
  co_await waiter;
}

BRIGADE_IO_TEST(Signal, AbortedWaitConsumesNothing) {
  auto waiter = bg::spawn(bg::signal::received(SIGUSR2));
  for (int i = 0; i < 3; ++i) co_await bg::yield_now();
  waiter.abort();
  bool cancelled = false;
  try {
    co_await waiter;
  } catch (const bg::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  ::kill(::getpid(), SIGUSR2);  // queued: the next waiter gets it
  co_await bg::signal::received(SIGUSR2);
}

TEST(SignalArgs, RejectsBadNumbers) {
  EXPECT_THROW(bg::signal::block(0), std::invalid_argument);
  EXPECT_THROW(bg::signal::block(SIGKILL), std::invalid_argument);
}
