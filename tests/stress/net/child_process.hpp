#pragma once
// Helpers of the net stress tests that run one side of a test in a forked
// child process: the client of the scale test (RELIABILITY.md R12 puts it in
// another process) and the server of the EMFILE test (a lowered
// RLIMIT_NOFILE must not touch the test process).
//
// fork() copies only the calling thread, so a child is forked while the test
// process runs no other thread (no runtime alive) and builds its own runtime;
// it reports through pipes and ends with _exit (no gtest, no atexit).

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>

namespace brigade::testing {

/// Threads of this process (/proc/self/task), not counting ThreadSanitizer's
/// own background thread (it starts lazily; TSan's fork interceptor handles
/// it).
inline int process_threads() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.' ? 1 : 0;
    ::closedir(d);
  }
#if defined(__SANITIZE_THREAD__)
  return n > 1 ? n - 1 : n;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return n > 1 ? n - 1 : n;
#endif
#endif
  return n;
}

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
/// now in force.
inline rlim_t raise_fd_limit() {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

/// A pipe whose ends close themselves.
struct pipe_pair {
  int read_end = -1;
  int write_end = -1;
  pipe_pair() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read_end = fds[0];
      write_end = fds[1];
    }
  }
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;
  ~pipe_pair() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read_end >= 0) ::close(read_end);
    read_end = -1;
  }
  void close_write() {
    if (write_end >= 0) ::close(write_end);
    write_end = -1;
  }
};

/// Writes all of `size` bytes to a blocking fd; false on error.
inline bool write_fd(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

/// Reads exactly `size` bytes, waiting at most `limit` in total; false on
/// EOF, error or timeout.
inline bool read_fd(int fd, void* data, std::size_t size, std::chrono::milliseconds limit) {
  auto* p = static_cast<char*>(data);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    const int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

/// A forked child running `body`; its return value is the exit status.
/// The destructor kills (SIGKILL) and reaps a child that is still running,
/// so a failed assertion in the parent never leaves a process behind.
class child_process {
 public:
  explicit child_process(const std::function<int()>& body) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int status = 111;
      try {
        status = body();
      } catch (...) {
        status = 112;
      }
      ::_exit(status);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  bool started() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }

  /// Waits up to `limit` for the child to exit; its exit status, or -1 when
  /// it did not exit in time (it is killed then), or -2 when a signal ended
  /// it.
  int wait(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace brigade::testing
