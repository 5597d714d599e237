// An idle runtime costs no CPU: no worker spins while it waits (issue #3:
// "CPU time of an idle runtime over 1 s ~ 0"). Uses one second of real time,
// which is why it lives with the integration tests.

#include <brigade/runtime.hpp>
#include <brigade/time/sleep.hpp>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <thread>

namespace bg = brigade;
using namespace std::chrono_literals;

namespace {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

class IdleRuntime : public ::testing::TestWithParam<bg::flavor> {};

TEST_P(IdleRuntime, UsesNoCpuWhileIdle) {
  bg::runtime rt{bg::runtime_options{.flavor = GetParam(), .worker_threads = 2}};
  // Warm up: every worker runs something, then everything parks. A spawned
  // task waits on a far timer, so the driver holds a deadline too.
  rt.block_on([]() -> bg::task<> {
    auto far = bg::spawn([]() -> bg::task<> { co_await bg::sleep(1h); }());
    far.detach();
    for (int i = 0; i < 100; ++i) co_await bg::yield_now();
  }());
  const double before = cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double used = cpu_seconds() - before;
  // A spinning worker would burn ~1 s here; parking costs ~0. The bound is
  // generous for sanitizer runtimes' own background threads.
  EXPECT_LT(used, 0.1) << "an idle runtime used " << used << " s of CPU in 1 s";
}

INSTANTIATE_TEST_SUITE_P(Flavors, IdleRuntime,
                         ::testing::Values(bg::flavor::current_thread, bg::flavor::multi_thread),
                         [](const ::testing::TestParamInfo<bg::flavor>& p) {
                           return p.param == bg::flavor::current_thread ? "current_thread"
                                                                        : "multi_thread";
                         });

}  // namespace
