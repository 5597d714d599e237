// run_in_child: fork, measure, report through a pipe (see forked_child.hpp).

#include "forked_child.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>

namespace brigade::app {

namespace {

void write_all(int fd, const std::string& text) noexcept {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void child_body(int fd, const std::function<std::string()>& measure) {
  std::string message;
  try {
    message = "ok" + measure();
  } catch (const std::exception& e) {
    message = std::string("error ") + e.what();
  } catch (...) {
    message = "error unknown exception";
  }
  write_all(fd, message);
  ::close(fd);
  std::fflush(nullptr);
  ::_exit(0);
}

}  // namespace

child_text_outcome run_in_child_text(const std::function<std::string()>& measure) {
  child_text_outcome outcome;
  int fds[2];
  if (::pipe(fds) != 0) {
    outcome.error = std::string("pipe: ") + std::strerror(errno);
    return outcome;
  }
  std::fflush(nullptr);  // do not let the child flush the parent's buffers again
  const pid_t pid = ::fork();
  if (pid < 0) {
    outcome.error = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return outcome;
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_body(fds[1], measure);
  }
  ::close(fds[1]);
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    outcome.error = "the measuring child process died of signal " +
                    std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  } else if (text.starts_with("ok")) {
    outcome.text = text.substr(2);
    outcome.ok = true;
  } else if (text.starts_with("error ")) {
    outcome.error = text.substr(6);
  } else {
    outcome.error = "the measuring child process reported nothing";
  }
  return outcome;
}

child_outcome run_in_child(const std::function<std::vector<double>()>& measure) {
  const child_text_outcome t = run_in_child_text([&] {
    std::ostringstream out;
    out.precision(17);
    for (double v : measure()) out << ' ' << v;
    return out.str();
  });
  child_outcome outcome;
  outcome.ok = t.ok;
  outcome.error = t.error;
  if (t.ok) {
    std::istringstream in(t.text);
    double v = 0;
    while (in >> v) outcome.values.push_back(v);
  }
  return outcome;
}

}  // namespace brigade::app
