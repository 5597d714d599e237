// The loopback server and the blocking client (see loopback_server.hpp).

#include "loopback_server.hpp"

#include <brigade/join_handle.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/time/sleep.hpp>

#include <cerrno>
#include <cstring>
#include <future>
#include <system_error>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace brigade::app {

namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

/// A socket fd closed on scope exit.
class fd_guard {
 public:
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

int blocking_connect(const net::address& server) {
  const int fd = ::socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  fd_guard guard{fd};
  int rc = 0;
  do {
    rc = ::connect(fd, server.data(), server.size());
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) throw_errno("connect to the loopback server");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return guard.release();
}

void write_all_blocking(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("send to the loopback server");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void read_exact_blocking(int fd, void* data, std::size_t size) {
  auto* p = static_cast<unsigned char*>(data);
  while (size > 0) {
    const ssize_t n = ::recv(fd, p, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("recv from the loopback server");
    if (n == 0) throw std::system_error(ECONNRESET, std::generic_category(), "short reply");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

task<> serve_one(net::tcp_stream s, std::chrono::nanoseconds delay) {
  std::uint64_t request = 0;
  const std::size_t got = co_await s.read_exact(net::mutable_buffer(&request, sizeof request));
  if (got != sizeof request) co_return;  // the wake-up connection, or a client that gave up
  if (delay.count() > 0) co_await brigade::sleep(delay);
  const std::uint64_t reply = response_of(request);
  co_await s.write_all(net::const_buffer(&reply, sizeof reply));
}

task<> accept_loop(net::tcp_listener listener, std::chrono::nanoseconds delay,
                   const std::atomic<bool>& stopping) {
  for (;;) {
    net::accepted a = co_await listener.accept();
    // acquire: pairs with the destructor's release store before it connects.
    if (stopping.load(std::memory_order_acquire)) co_return;
    a.stream.set_nodelay(true);
    // Detached: the runtime's shutdown destroys whatever is left.
    spawn(serve_one(std::move(a.stream), delay), "serve").detach();
  }
}

task<> server_main(std::chrono::nanoseconds delay, std::promise<net::address>& ready,
                   bool& listening, const std::atomic<bool>& stopping) {
  net::listen_options options;
  options.backlog = 4096;
  net::tcp_listener listener =
      co_await net::tcp_listener::bind(net::address::loopback_v4(0), options);
  listening = true;
  ready.set_value(listener.local_address());
  co_await accept_loop(std::move(listener), delay, stopping);
}

/// Two descriptors per concurrent request (the client's and the server's):
/// lift the soft limit to the hard one, as servers do, so a few thousand
/// requests fit where the default soft limit is 1,024.
void raise_descriptor_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

std::uint64_t response_of(std::uint64_t request) noexcept {
  std::uint64_t x = request + 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

loopback_server::loopback_server(std::chrono::nanoseconds delay) {
  raise_descriptor_limit();
  std::promise<net::address> ready;
  std::future<net::address> bound = ready.get_future();
  thread_ = std::thread([this, delay, &ready] {
    bool listening = false;
    try {
      runtime_options options;
      options.flavor = flavor::current_thread;
      runtime rt{std::move(options)};
      rt.block_on(server_main(delay, ready, listening, stopping_));
    } catch (...) {
      // Before listening: the constructor rethrows it. After: the clients
      // see their connections fail and report that.
      if (!listening) ready.set_exception(std::current_exception());
    }
  });
  try {
    address_ = bound.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

loopback_server::~loopback_server() {
  stopping_.store(true, std::memory_order_release);
  try {
    // Wakes the accept loop, which sees stopping_ and returns.
    const fd_guard wake{blocking_connect(address_)};
  } catch (const std::system_error&) {
    // Cannot connect: the loop is gone already (it failed); join anyway.
  }
  thread_.join();
}

std::uint64_t blocking_request(const net::address& server, std::uint64_t request) {
  const fd_guard fd{blocking_connect(server)};
  write_all_blocking(fd.get(), &request, sizeof request);
  std::uint64_t reply = 0;
  read_exact_blocking(fd.get(), &reply, sizeof reply);
  return reply;
}

}  // namespace brigade::app
