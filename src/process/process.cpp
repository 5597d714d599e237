// brigade::process: posix_spawnp + pidfd registered with the I/O driver.

#include <brigade/process.hpp>

#include <brigade/detail/sys.hpp>
#include <brigade/spawn.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <system_error>
#include <utility>

extern char** environ;

namespace brigade::process {

using brigade::detail::io_interest;

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

/// Closes the fds it holds on scope exit (the child's ends after spawning).
struct fd_list {
  std::vector<int> fds;
  ~fd_list() {
    for (int fd : fds) ::close(fd);
  }
};

exit_status decode(const siginfo_t& info) noexcept {
  exit_status s;
  if (info.si_code == CLD_EXITED) {
    s.code = info.si_status;
  } else {
    s.signal = info.si_status;
  }
  return s;
}

}  // namespace

child::child(child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(std::move(other.status_)),
      in_(std::move(other.in_)),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {}

child& child::operator=(child&& other) noexcept {
  if (this != &other) {
    this->~child();
    new (this) child(std::move(other));
  }
  return *this;
}

child::~child() {
  if (pid_ > 0 && !status_ && pidfd_.valid()) {
    siginfo_t info{};
    ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.fd()), &info, WEXITED | WNOHANG);
  }
}

child spawn(const spawn_options& options) {
  if (options.args.empty()) throw std::invalid_argument("brigade::process::spawn: empty args");
  const std::string& program = options.args.front();
  child c;
  fd_list child_ends;
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  struct actions_guard {
    posix_spawn_file_actions_t* a;
    ~actions_guard() { ::posix_spawn_file_actions_destroy(a); }
  } guard{&actions};

  const stdio modes[3] = {options.in, options.out, options.err};
  net::unix_stream* parent_ends[3] = {&c.in_, &c.out_, &c.err_};
  for (int i = 0; i < 3; ++i) {
    if (modes[i] == stdio::piped) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        throw std::system_error(errno, std::system_category(), "socketpair");
      }
      child_ends.fds.push_back(sv[1]);
      ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
      *parent_ends[i] = net::unix_stream::adopt(sv[0], {});
      // Each direction is one-way for the child.
      ::shutdown(sv[0], i == 0 ? SHUT_RD : SHUT_WR);
      ::posix_spawn_file_actions_adddup2(&actions, sv[1], i);
    } else if (modes[i] == stdio::null) {
      ::posix_spawn_file_actions_addopen(&actions, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  std::vector<char*> argv;
  for (const std::string& a : options.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (const int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
      rc != 0) {
    throw std::system_error(rc, std::system_category(), "spawn " + program);
  }
  c.pid_ = pid;
  const int pfd = pidfd_open(pid);
  if (pfd < 0) throw std::system_error(errno, std::system_category(), "pidfd_open " + program);
  ::fcntl(pfd, F_SETFD, FD_CLOEXEC);
  c.pidfd_ = brigade::detail::io_registration::attach(pfd);
  return c;
}

task<exit_status> child::wait() {
  if (status_) co_return *status_;
  auto guard = pidfd_.begin(io_interest::read, "process::child::wait");
  for (;;) {
    const std::uint32_t ticket = pidfd_.ticket(io_interest::read);
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.fd()), &info, WEXITED | WNOHANG) != 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::system_category(), "waitid");
    }
    if (info.si_pid != 0) {
      status_ = decode(info);
      co_return *status_;
    }
    co_await pidfd_.ready(io_interest::read, ticket);
  }
}

void child::kill(int signo) {
  if (status_ || pid_ <= 0) return;
  if (::syscall(SYS_pidfd_send_signal, pidfd_.fd(), signo, nullptr, 0) != 0) {
    throw std::system_error(errno, std::system_category(), "kill " + std::to_string(pid_));
  }
}

}  // namespace brigade::process
