#pragma once
// brigade::testing: run coroutine test bodies on fresh runtimes, and check
// that every runtime leaves nothing behind (RELIABILITY.md "Accounting").
//
//   BRIGADE_TEST(Suite, Name) {
//     auto h = brigade::spawn(work());
//     EXPECT_EQ(co_await h, 42);
//   }
//
// The body runs once per flavor (current_thread, then multi_thread with two
// workers), each time on a fresh runtime; after the runtime is destroyed the
// live coroutine frames must be back at their count from before the test.
// In a coroutine body use EXPECT_*; ASSERT_* would `return` (not allowed in
// a coroutine): use BRIGADE_CO_ASSERT(cond) instead.

#include <brigade/detail/frame_allocator.hpp>
#include <brigade/runtime.hpp>
#include <brigade/task.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>

namespace brigade::testing {

/// Counts live frames at construction; on destruction expects the same count.
class frame_accounting {
 public:
  frame_accounting() noexcept : baseline_(detail::live_frames()) {}
  frame_accounting(const frame_accounting&) = delete;
  frame_accounting& operator=(const frame_accounting&) = delete;
  ~frame_accounting() {
    EXPECT_EQ(detail::live_frames(), baseline_) << "coroutine frames leaked (or freed twice)";
  }

 private:
  std::int64_t baseline_;
};

inline const char* flavor_name(flavor f) noexcept {
  return f == flavor::current_thread ? "current_thread" : "multi_thread";
}

/// The options each BRIGADE_TEST runs with.
inline runtime_options test_options(flavor f) {
  runtime_options o;
  o.flavor = f;
  o.worker_threads = 2;
  return o;
}

/// Names TEST_P instances after their flavor.
inline std::string flavor_param_name(const ::testing::TestParamInfo<flavor>& p) {
  return flavor_name(p.param);
}

/// True when the BRIGADE_TEST_FLAVOR environment variable (current_thread
/// or multi_thread) does not exclude `f`: for debugging one flavor.
inline bool flavor_selected(flavor f) {
  const char* only = std::getenv("BRIGADE_TEST_FLAVOR");
  return only == nullptr || *only == '\0' || std::string_view{only} == flavor_name(f);
}

/// Runs `body()` on a fresh runtime of each flavor in `flavors`.
inline void run_test(task<void> (*body)(), std::initializer_list<flavor> flavors = {
                                               flavor::current_thread, flavor::multi_thread}) {
  for (flavor f : flavors) {
    if (!flavor_selected(f)) continue;
    SCOPED_TRACE(flavor_name(f));
    frame_accounting accounting;
    runtime rt{test_options(f)};
    try {
      rt.block_on(body());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "test body threw: " << e.what();
    } catch (...) {
      ADD_FAILURE() << "test body threw a non-std exception";
    }
    rt.shutdown();
    EXPECT_EQ(rt.metrics().live_tasks, 0u) << "tasks still alive after shutdown";
  }
}

}  // namespace brigade::testing

/// A GoogleTest test whose body is a coroutine (task<void>), run on a fresh
/// runtime of each flavor with frame accounting.
#define BRIGADE_TEST(suite, name)                                                          \
  static ::brigade::task<void> brigade_test_body_##suite##_##name();                       \
  TEST(suite, name) { ::brigade::testing::run_test(&brigade_test_body_##suite##_##name); } \
  static ::brigade::task<void> brigade_test_body_##suite##_##name()

/// As BRIGADE_TEST, on the current_thread flavor only.
#define BRIGADE_TEST_CURRENT_THREAD(suite, name)                       \
  static ::brigade::task<void> brigade_test_body_##suite##_##name();   \
  TEST(suite, name) {                                                  \
    ::brigade::testing::run_test(&brigade_test_body_##suite##_##name,  \
                                 {::brigade::flavor::current_thread}); \
  }                                                                    \
  static ::brigade::task<void> brigade_test_body_##suite##_##name()

/// Instantiates a TEST_P suite parameterized by brigade::flavor on both flavors.
#define BRIGADE_INSTANTIATE_FLAVORS(suite)                                                   \
  INSTANTIATE_TEST_SUITE_P(                                                                  \
      Flavors, suite,                                                                        \
      ::testing::Values(::brigade::flavor::current_thread, ::brigade::flavor::multi_thread), \
      ::brigade::testing::flavor_param_name)

/// ASSERT for coroutine bodies: records a fatal failure and co_returns.
#define BRIGADE_CO_ASSERT(cond)                          \
  if (!(cond)) {                                         \
    GTEST_NONFATAL_FAILURE_("Assertion failed: " #cond); \
    co_return;                                           \
  }
