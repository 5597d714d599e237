#pragma once
// brigade::testing::fault_injection: installs a faulty syscall table
// (detail/sys.hpp) for a scope. Seeded: each call draws from a counter-based
// generator (splitmix64 of seed + call number), so a single-threaded run
// replays exactly; multi-threaded runs are reproducible up to interleaving.
//
// Fault classes (each enabled by its bit in fault_plan::faults, each fired
// with fault_plan::probability per eligible call):
//   eintr       read/write/readv/writev/recv/send/recvfrom/sendto/accept4/
//               epoll_wait fail with EINTR before doing anything
//   eagain      read/recv/recvfrom/accept4/write/send/sendto fail with a
//               spurious EAGAIN; on epoll the fd is re-armed (EPOLL_CTL_MOD
//               with its registered event), because an edge-triggered epoll
//               would not report readiness that the kernel already reported:
//               the fault models "woken, but the data was not there yet"
//   short_io    read/write/recv/send transfer a random prefix (>= 1 byte)
//   econnreset  read/recv fail with ECONNRESET (the connection is not really
//               reset: the stream's owner sees the error and must drop it)
//   epipe       write/send fail with EPIPE
//   emfile      accept4 fails with EMFILE (the connection stays in the
//               backlog, as when the limit is real)
//   enomem      epoll_ctl ADD fails with ENOMEM
//   refuse_io_uring  io_uring_setup returns -EPERM (always, not by chance)
// Only one fault_injection may be alive at a time.

#include <brigade/detail/sys.hpp>

#include <sys/epoll.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>

namespace brigade::testing {

enum class fault : std::uint32_t {
  eintr = 1u << 0,
  eagain = 1u << 1,
  short_io = 1u << 2,
  econnreset = 1u << 3,
  epipe = 1u << 4,
  emfile = 1u << 5,
  enomem = 1u << 6,
  refuse_io_uring = 1u << 7,
};
constexpr std::uint32_t operator|(fault a, fault b) noexcept {
  return static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b);
}
constexpr std::uint32_t operator|(std::uint32_t a, fault b) noexcept {
  return a | static_cast<std::uint32_t>(b);
}

struct fault_plan {
  std::uint64_t seed = 1;
  double probability = 0.1;
  std::uint32_t faults = fault::eintr | fault::eagain | fault::short_io;
  /// Faults fire only after this many eligible calls (lets a test set up).
  std::uint64_t skip_first = 0;
  /// At most this many faults in total (0: no limit).
  std::uint64_t max_faults = 0;
};

class fault_injection {
 public:
  explicit fault_injection(fault_plan plan) : plan_(plan) {
    if (active_.exchange(this) != nullptr) {
      throw std::logic_error("fault_injection: one at a time");
    }
    previous_ = detail::sys::install(&faulty_table);
    epoll_eintr_.store(enabled(fault::eintr), std::memory_order_relaxed);
  }
  fault_injection(const fault_injection&) = delete;
  fault_injection& operator=(const fault_injection&) = delete;
  ~fault_injection() { stop(); }

  /// Uninstalls the faulty table (the destructor does it too). A call that
  /// entered a faulty wrapper before may still read this object, so a test
  /// that injects again in a loop keeps each injector alive until the
  /// runtime stops (see TransientFaultsLoseNothing): a new injector at the
  /// same address would race with such a call.
  void stop() noexcept {
    if (stopped_) return;
    stopped_ = true;
    epoll_eintr_.store(false, std::memory_order_relaxed);
    detail::sys::install(previous_);
    active_.store(nullptr);
  }

  /// Faults injected so far.
  std::uint64_t injected() const noexcept { return injected_.load(); }

 private:
  bool enabled(fault f) const noexcept {
    return (plan_.faults & static_cast<std::uint32_t>(f)) != 0;
  }
  std::uint64_t next_random() noexcept {
    std::uint64_t z = plan_.seed + 0x9e3779b97f4a7c15ull * (calls_.fetch_add(1) + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  bool roll(fault f) noexcept {
    if (!enabled(f)) return false;
    const std::uint64_t r = next_random();
    if (calls_.load() <= plan_.skip_first) return false;
    if (static_cast<double>(r >> 11) * 0x1.0p-53 >= plan_.probability) return false;
    if (plan_.max_faults != 0 && injected_.fetch_add(1) >= plan_.max_faults) {
      injected_.fetch_sub(1);
      return false;
    }
    if (plan_.max_faults == 0) injected_.fetch_add(1);
    return true;
  }
  std::size_t shorten(std::size_t n) noexcept {
    if (n <= 1 || !roll(fault::short_io)) return n;
    return 1 + static_cast<std::size_t>(next_random() % (n - 1));
  }
  /// Spurious EAGAIN: re-arm the fd on epoll so its readiness is reported
  /// again (see the header comment).
  ssize_t spurious_eagain(int fd) noexcept {
    std::lock_guard lock(mutex_);
    if (auto it = registered_.find(fd); it != registered_.end()) {
      epoll_event ev = it->second.second;
      ::epoll_ctl(it->second.first, EPOLL_CTL_MOD, fd, &ev);
    }
    errno = EAGAIN;
    return -1;
  }
  static fault_injection& self() noexcept { return *active_.load(); }
  static const detail::sys::table& real() noexcept { return detail::sys::real(); }

  static ssize_t f_read(int fd, void* buf, std::size_t n) {
    auto& s = self();
    if (s.roll(fault::eintr)) return errno = EINTR, -1;
    if (s.roll(fault::eagain)) return s.spurious_eagain(fd);
    if (s.roll(fault::econnreset)) return errno = ECONNRESET, -1;
    return real().read(fd, buf, s.shorten(n));
  }
  static ssize_t f_write(int fd, const void* buf, std::size_t n) {
    auto& s = self();
    if (s.roll(fault::eintr)) return errno = EINTR, -1;
    if (s.roll(fault::eagain)) return s.spurious_eagain(fd);
    if (s.roll(fault::epipe)) return errno = EPIPE, -1;
    return real().write(fd, buf, s.shorten(n));
  }
  static ssize_t f_readv(int fd, const iovec* iov, int count) {
    if (self().roll(fault::eintr)) return errno = EINTR, -1;
    return real().readv(fd, iov, count);
  }
  static ssize_t f_writev(int fd, const iovec* iov, int count) {
    if (self().roll(fault::eintr)) return errno = EINTR, -1;
    return real().writev(fd, iov, count);
  }
  static ssize_t f_recv(int fd, void* buf, std::size_t n, int flags) {
    auto& s = self();
    if (s.roll(fault::eintr)) return errno = EINTR, -1;
    if (s.roll(fault::eagain)) return s.spurious_eagain(fd);
    if (s.roll(fault::econnreset)) return errno = ECONNRESET, -1;
    return real().recv(fd, buf, s.shorten(n), flags);
  }
  static ssize_t f_send(int fd, const void* buf, std::size_t n, int flags) {
    auto& s = self();
    if (s.roll(fault::eintr)) return errno = EINTR, -1;
    if (s.roll(fault::eagain)) return s.spurious_eagain(fd);
    if (s.roll(fault::epipe)) return errno = EPIPE, -1;
    return real().send(fd, buf, s.shorten(n), flags);
  }
  static ssize_t f_recvfrom(int fd, void* buf, std::size_t n, int flags, sockaddr* from,
                            socklen_t* len) {
    auto& s = self();
    if (s.roll(fault::eintr)) return errno = EINTR, -1;
    if (s.roll(fault::eagain)) return s.spurious_eagain(fd);
    return real().recvfrom(fd, buf, n, flags, from, len);
  }
  static ssize_t f_sendto(int fd, const void* buf, std::size_t n, int flags, const sockaddr* to,
                          socklen_t len) {
    auto& s = self();
    if (s.roll(fault::eintr)) return errno = EINTR, -1;
    if (s.roll(fault::eagain)) return s.spurious_eagain(fd);
    return real().sendto(fd, buf, n, flags, to, len);
  }
  static int f_accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
    auto& s = self();
    if (s.roll(fault::eintr)) return errno = EINTR, -1;
    if (s.roll(fault::eagain)) return static_cast<int>(s.spurious_eagain(fd));
    if (s.roll(fault::emfile)) return errno = EMFILE, -1;
    return real().accept4(fd, addr, len, flags);
  }
  static int f_connect(int fd, const sockaddr* addr, socklen_t len) {
    return real().connect(fd, addr, len);
  }
  static int f_socket(int domain, int type, int protocol) {
    return real().socket(domain, type, protocol);
  }
  static int f_close(int fd) {
    {
      std::lock_guard lock(self().mutex_);
      self().registered_.erase(fd);
    }
    return real().close(fd);
  }
  static int f_epoll_wait(int epfd, epoll_event* events, int max, int timeout) {
    // The parked driver calls this outside any task, unordered with the
    // test body that stops the injector: it touches only statics.
    if (epoll_eintr_.load(std::memory_order_relaxed) &&
        epoll_calls_.fetch_add(1, std::memory_order_relaxed) % 7 == 3) {
      return errno = EINTR, -1;
    }
    return real().epoll_wait(epfd, events, max, timeout);
  }
  static int f_epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
    auto& s = self();
    if (op == EPOLL_CTL_ADD && s.roll(fault::enomem)) return errno = ENOMEM, -1;
    const int rc = real().epoll_ctl(epfd, op, fd, ev);
    if (rc == 0) {
      std::lock_guard lock(s.mutex_);
      if (op == EPOLL_CTL_ADD) s.registered_[fd] = {epfd, *ev};
      if (op == EPOLL_CTL_DEL) s.registered_.erase(fd);
    }
    return rc;
  }
  static int f_io_uring_setup(unsigned entries, io_uring_params* p) {
    if (self().enabled(fault::refuse_io_uring)) return -EPERM;
    return real().io_uring_setup(entries, p);
  }

  // No faults for the ring's enter (a pass-through).
  static int f_io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete,
                              unsigned flags, const void* arg, std::size_t arg_size) {
    return real().io_uring_enter(fd, to_submit, min_complete, flags, arg, arg_size);
  }

  static inline const detail::sys::table faulty_table{
      .read = &f_read,
      .write = &f_write,
      .readv = &f_readv,
      .writev = &f_writev,
      .recv = &f_recv,
      .send = &f_send,
      .recvfrom = &f_recvfrom,
      .sendto = &f_sendto,
      .accept4 = &f_accept4,
      .connect = &f_connect,
      .socket = &f_socket,
      .close = &f_close,
      .epoll_wait = &f_epoll_wait,
      .epoll_ctl = &f_epoll_ctl,
      .io_uring_setup = &f_io_uring_setup,
      .io_uring_enter = &f_io_uring_enter,
  };
  static inline std::atomic<fault_injection*> active_{nullptr};
  static inline std::atomic<bool> epoll_eintr_{false};
  static inline std::atomic<std::uint64_t> epoll_calls_{0};
  bool stopped_ = false;

  fault_plan plan_;
  const detail::sys::table* previous_ = nullptr;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> injected_{0};
  std::mutex mutex_;
  std::map<int, std::pair<int, epoll_event>> registered_;  // fd -> (epfd, event)
};

}  // namespace brigade::testing
