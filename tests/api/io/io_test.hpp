#pragma once
// Runs a coroutine test body on every I/O backend and both flavors, with
// frame and file-descriptor accounting (RELIABILITY.md "Accounting").
//
//   BRIGADE_IO_SUITE(TcpStream);
//   BRIGADE_IO_TEST(TcpStream, Echo) { ... co_await ...; }
//
// Each test is a TEST_P over {epoll, io_uring}; the io_uring instance skips
// (GTEST_SKIP) when the kernel refuses io_uring or brigade was built without
// it. The body runs on current_thread, then multi_thread (2 workers), each on
// a fresh runtime; afterwards live frames and open fds must be back at their
// count from before.

#include <brigade/detail/sys.hpp>
#include <brigade/runtime.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/utsname.h>

#include <cstdio>

#include <string>
#include <system_error>

namespace brigade::testing {

/// Open file descriptors of this process.
inline int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

inline const char* backend_name(io_backend b) noexcept {
  switch (b) {
    case io_backend::epoll:
      return "epoll";
    case io_backend::io_uring:
      return "io_uring";
    case io_backend::automatic:
      break;
  }
  return "automatic";
}

/// Whether a runtime with `b` can be created here.
inline bool backend_available(io_backend b) {
  try {
    runtime rt{runtime_options{.flavor = flavor::current_thread, .io = b}};
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

/// Whether the io_uring backend runs completion-based operations here (it
/// needs Linux 6.0; src/io/uring/uring_driver.cpp).
inline bool uring_completions_available() {
  utsname u{};
  int major = 0;
  int minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major >= 6 && backend_available(io_backend::io_uring);
}

inline void run_io_test(task<void> (*body)(), io_backend backend) {
  if (!backend_available(backend)) {
    GTEST_SKIP() << backend_name(backend) << " is not available here";
  }
  for (flavor f : {flavor::current_thread, flavor::multi_thread}) {
    if (!flavor_selected(f)) continue;
    SCOPED_TRACE(std::string(flavor_name(f)) + "/" + backend_name(backend));
    const int fds_before = open_fds();
    {
      frame_accounting accounting;
      runtime_options o = test_options(f);
      o.io = backend;
      runtime rt{o};
      try {
        rt.block_on(body());
      } catch (const std::exception& e) {
        ADD_FAILURE() << "test body threw: " << e.what();
      }
      rt.shutdown();
      EXPECT_EQ(rt.metrics().live_tasks, 0u) << "tasks still alive after shutdown";
    }
    EXPECT_EQ(open_fds(), fds_before) << "file descriptors leaked";
  }
}

/// Runs `body(backend)` (a coroutine) on a fresh runtime of every available
/// backend (io_uring only, with completion-based operations, when
/// `uring_only`) and both flavors, with the seam `seam` installed for each
/// run; `reset()` runs before each runtime is built (the seam's counters).
template <class Body, class Reset>
void with_seam_on_every_runtime(const detail::sys::table& seam, Reset reset, Body body,
                                bool uring_only = false) {
  for (auto backend : {io_backend::epoll, io_backend::io_uring}) {
    if (!backend_available(backend)) continue;
    if (uring_only && (backend != io_backend::io_uring || !uring_completions_available())) {
      continue;
    }
    for (auto fl : {flavor::current_thread, flavor::multi_thread}) {
      SCOPED_TRACE(std::string(backend_name(backend)) + "/" + flavor_name(fl));
      const detail::sys::table* previous = detail::sys::install(&seam);
      reset();
      {
        runtime rt{runtime_options{.flavor = fl, .worker_threads = 2, .io = backend}};
        rt.block_on(body(backend));
      }
      detail::sys::install(previous);
    }
  }
}

class io_backend_test : public ::testing::TestWithParam<io_backend> {};

inline std::string backend_param_name(const ::testing::TestParamInfo<io_backend>& info) {
  return backend_name(info.param);
}

}  // namespace brigade::testing

#define BRIGADE_IO_SUITE(suite)                                                         \
  class suite : public ::brigade::testing::io_backend_test {};                          \
  INSTANTIATE_TEST_SUITE_P(                                                             \
      backend, suite,                                                                   \
      ::testing::Values(::brigade::io_backend::epoll, ::brigade::io_backend::io_uring), \
      ::brigade::testing::backend_param_name)

#define BRIGADE_IO_TEST(suite, name)                                                     \
  static ::brigade::task<void> brigade_io_test_body_##suite##_##name();                  \
  TEST_P(suite, name) {                                                                  \
    ::brigade::testing::run_io_test(&brigade_io_test_body_##suite##_##name, GetParam()); \
  }                                                                                      \
  static ::brigade::task<void> brigade_io_test_body_##suite##_##name()
