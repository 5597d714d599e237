// brigade::signal: signalfd registered with the I/O driver.

#include <brigade/detail/io_registration.hpp>
#include <brigade/detail/sys.hpp>
#include <brigade/signal.hpp>
#include <brigade/spawn.hpp>

#include <pthread.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace brigade::signal {

using brigade::detail::io_interest;

namespace {

sigset_t set_of(int signo) {
  if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP) {
    throw std::invalid_argument("brigade::signal: bad signal number " + std::to_string(signo));
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  return set;
}

}  // namespace

void block(int signo) {
  const sigset_t set = set_of(signo);
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    throw std::system_error(rc, std::system_category(), "pthread_sigmask");
  }
}

task<> received(int signo) {
  const sigset_t set = set_of(signo);
  block(signo);  // at least this worker: a signal it would take stays queued
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "signalfd");
  auto reg = brigade::detail::io_registration::attach(fd);
  co_await brigade::consume_budget();
  for (;;) {
    const std::uint32_t ticket = reg.ticket(io_interest::read);
    signalfd_siginfo info{};
    const ssize_t n = brigade::detail::sys::get().read(reg.fd(), &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) co_return;
    const int err = n < 0 ? errno : EIO;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) {
      throw std::system_error(err, std::system_category(), "read signalfd");
    }
    co_await reg.ready(io_interest::read, ticket);
  }
}

}  // namespace brigade::signal
