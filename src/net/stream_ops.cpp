// Shared stream operations (see stream_ops.hpp).

#include "net/stream_ops.hpp"

#include "io/completion.hpp"
#include "io/recv_queue.hpp"

#include <brigade/detail/sys.hpp>
#include <brigade/spawn.hpp>

#include <sys/socket.h>
#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <system_error>

namespace brigade::detail {

namespace {

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

/// What to do after a syscall said EAGAIN. io_uring: the transfer itself
/// goes to the ring (recv/send; its result arrives with the completion, no
/// readiness wake and second syscall); epoll (and pipes): wait for
/// readiness. Returns bytes (>= 0) or -errno; -EAGAIN means "retry the
/// syscall".
task<ssize_t> after_eagain(const io_registration& reg, io_interest dir, std::uint32_t ticket,
                           const std::byte* data, std::size_t size, bool ring_ok = true) {
  reactor* core = reg.source()->reactor_.get();
  if (ring_ok && core->supports_completions()) {
    // relaxed: read by remove() on this fd's owner, after this operation.
    reg.source()->ops_used_.store(true, memory_order_relaxed);
    const bool recv = dir == io_interest::read;
    completion_awaiter op{*core, io_op{.op = recv ? io_op::kind::recv : io_op::kind::send,
                                       .fd = reg.fd(),
                                       .data = const_cast<std::byte*>(data),
                                       .size = size,
                                       .flags = recv ? 0 : MSG_NOSIGNAL,
                                       .poll_first = true}};
    const int r = co_await op;
    if (r != -EAGAIN && r != -EWOULDBLOCK) co_return r;
  }
  co_await reg.ready(dir, ticket);
  co_return -EAGAIN;
}

/// Whether after_eagain would use the ring. The readiness path (epoll,
/// pipes) awaits reg.ready() in the caller instead: no coroutine frame for
/// after_eagain per wait on the epoll hot path.
bool ring_path(const io_registration& reg, bool ring_ok = true) noexcept {
  return ring_ok && reg.source()->reactor_->supports_completions();
}

/// A read (the syscall, or a recv through the ring) returned `n` of `size`
/// bytes; short means the fd was empty: arm read_some's hint. `s`: the seam
/// the read went through (a test seam that fakes short reads opts out).
void note_short_read(const sys::table& s, const io_registration& reg, std::uint32_t ticket,
                     ssize_t n, std::size_t size) noexcept {
  if (n > 0 && static_cast<std::size_t>(n) < size && s.short_read_drains) {
    reg.source()->drained_ = true;
    reg.source()->drained_ticket_ = ticket;
  }
}

/// One read attempt of a stream: the syscall, or, when the last read came
/// back short and no readiness arrived since (`ticket` unchanged), -1 with
/// EAGAIN without a syscall (the socket is known empty: Tokio clears its
/// readiness on a short read for the same reason). A short read here arms
/// the hint for the next attempt. Returns the syscall's result; errno set.
ssize_t read_some(const io_registration& reg, std::uint32_t ticket, std::byte* data,
                  std::size_t size) {
  io_source* src = reg.source();
  const sys::table& s = sys::get();
  // relaxed: read after ticket()'s acquire, which pairs with the bump that
  // published it.
  if (src->drained_ && src->drained_ticket_ == ticket &&
      !src->read_closed_.load(memory_order_relaxed)) {
    src->drained_ = false;  // one skip per short read: the wait comes next
    errno = EAGAIN;
    return -1;
  }
  const ssize_t n = s.read(reg.fd(), data, size);
  note_short_read(s, reg, ticket, n, size);
  return n;
}

/// After an EAGAIN on the ring path: arms the stream's multishot recv
/// (src/io/recv_queue.hpp, created on first use) so that its reads take
/// queued chunks from now on. False when this wait keeps the one-shot recv
/// (no buffer ring, a seam that turns it off, a stream that may not use it,
/// or the queue says so: a dry ring, a kernel that refused it).
bool arm_multishot(const io_registration& reg, recv_mode mode) {
  if (mode != recv_mode::multishot_allowed) return false;
  io_source* src = reg.source();
  if (!src->reactor_->supports_multishot_recv() || !sys::get().multishot_recv) return false;
  if (src->recvq_ == nullptr) src->recvq_ = new recv_queue(src->reactor_, reg.fd());
  // relaxed: read by remove() on this fd's owner, after this operation.
  src->ops_used_.store(true, memory_order_relaxed);
  return src->recvq_->arm();
}

ssize_t send_some(int fd, const std::byte* data, std::size_t size, write_kind kind) {
  if (kind == write_kind::socket) return sys::get().send(fd, data, size, MSG_NOSIGNAL);
  return sys::get().write(fd, data, size);
}

}  // namespace

std::string op_target::describe() const {
  if (peer != nullptr) return peer->to_string();
  if (path != nullptr) return path->empty() ? std::string("(unnamed)") : *path;
  return {};
}

void throw_io_error(int err, std::string_view op, const op_target& target) {
  std::string what(op);
  const std::string t = target.describe();
  if (!t.empty()) what += " " + t;
  throw std::system_error(err, std::system_category(), what);
}

int open_socket(int domain, int type) {
  const int fd = sys::get().socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "socket");
  return fd;
}

io_registration open_registered_socket(int domain, int type, std::string_view op,
                                       const op_target& target) {
  try {
    return io_registration::attach(open_socket(domain, type));
  } catch (const std::system_error& e) {
    throw_io_error(e.code().value(), op, target);
  }
}

task<std::size_t> stream_read(const io_registration& reg, net::mutable_buffer buf, op_target target,
                              recv_mode mode) {
  auto guard = reg.begin(io_interest::read, "read");
  co_await brigade::consume_budget();
  for (;;) {
    // The multishot's queue first: while it is armed, the socket may hold
    // only later bytes than a CQE not reaped yet (recv_queue.hpp step 1).
    if (recv_queue* q = reg.source()->recvq_) {
      const recv_queue::taken t = q->take(buf.data(), buf.size());
      if (t.what == recv_queue::outcome::data) co_return t.bytes;
      if (t.what == recv_queue::outcome::end) co_return 0;
      if (t.what == recv_queue::outcome::error) throw_io_error(t.error, "read", target);
      if (t.what == recv_queue::outcome::wait) {
        queue_wait news = q->wait();
        co_await news;
        continue;
      }
    }
    const std::uint32_t ticket = reg.ticket(io_interest::read);
    ssize_t n = read_some(reg, ticket, buf.data(), buf.size());
    int err = n < 0 ? errno : 0;
    if (n < 0 && would_block(err) && !ring_path(reg)) {
      co_await reg.ready(io_interest::read, ticket);
      continue;
    }
    if (n < 0 && would_block(err)) {
      if (arm_multishot(reg, mode)) continue;
      n = co_await after_eagain(reg, io_interest::read, ticket, buf.data(), buf.size());
      err = n < 0 ? static_cast<int>(-n) : 0;
      note_short_read(sys::get(), reg, ticket, n, buf.size());
    }
    if (n >= 0) co_return static_cast<std::size_t>(n);
    if (err == EINTR || would_block(err)) continue;
    throw_io_error(err, "read", target);
  }
}

task<std::size_t> stream_read_exact(const io_registration& reg, net::mutable_buffer buf,
                                    op_target target, recv_mode mode) {
  auto guard = reg.begin(io_interest::read, "read_exact");
  co_await brigade::consume_budget();
  std::size_t done = 0;
  while (done < buf.size()) {
    if (recv_queue* q = reg.source()->recvq_) {  // as in stream_read
      const recv_queue::taken t = q->take(buf.data() + done, buf.size() - done);
      if (t.what == recv_queue::outcome::data) {
        done += t.bytes;
        continue;
      }
      if (t.what == recv_queue::outcome::end) break;  // the peer closed first
      if (t.what == recv_queue::outcome::error) throw_io_error(t.error, "read", target);
      if (t.what == recv_queue::outcome::wait) {
        queue_wait news = q->wait();
        co_await news;
        continue;
      }
    }
    const std::uint32_t ticket = reg.ticket(io_interest::read);
    ssize_t n = read_some(reg, ticket, buf.data() + done, buf.size() - done);
    int err = n < 0 ? errno : 0;
    if (n < 0 && would_block(err) && !ring_path(reg)) {
      co_await reg.ready(io_interest::read, ticket);
      continue;
    }
    if (n < 0 && would_block(err)) {
      if (arm_multishot(reg, mode)) continue;
      n = co_await after_eagain(reg, io_interest::read, ticket, buf.data() + done,
                                buf.size() - done);
      err = n < 0 ? static_cast<int>(-n) : 0;
      note_short_read(sys::get(), reg, ticket, n, buf.size() - done);
    }
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) break;  // the peer closed first
    if (err == EINTR || would_block(err)) continue;
    throw_io_error(err, "read", target);
  }
  co_return done;
}

task<std::size_t> stream_write(const io_registration& reg, net::const_buffer buf, op_target target,
                               write_kind kind) {
  auto guard = reg.begin(io_interest::write, "write");
  co_await brigade::consume_budget();
  for (;;) {
    const std::uint32_t ticket = reg.ticket(io_interest::write);
    ssize_t n = send_some(reg.fd(), buf.data(), buf.size(), kind);
    int err = n < 0 ? errno : 0;
    if (n < 0 && would_block(err) && !ring_path(reg, kind == write_kind::socket)) {
      co_await reg.ready(io_interest::write, ticket);
      continue;
    }
    if (n < 0 && would_block(err)) {
      n = co_await after_eagain(reg, io_interest::write, ticket, buf.data(), buf.size(),
                                kind == write_kind::socket);
      err = n < 0 ? static_cast<int>(-n) : 0;
    }
    if (n >= 0) co_return static_cast<std::size_t>(n);
    if (err == EINTR || would_block(err)) continue;
    throw_io_error(err, "write", target);
  }
}

task<> stream_write_all(const io_registration& reg, net::const_buffer buf, op_target target,
                        write_kind kind) {
  auto guard = reg.begin(io_interest::write, "write_all");
  co_await brigade::consume_budget();
  std::size_t done = 0;
  while (done < buf.size()) {
    const std::uint32_t ticket = reg.ticket(io_interest::write);
    ssize_t n = send_some(reg.fd(), buf.data() + done, buf.size() - done, kind);
    int err = n < 0 ? errno : 0;
    if (n < 0 && would_block(err) && !ring_path(reg, kind == write_kind::socket)) {
      co_await reg.ready(io_interest::write, ticket);
      continue;
    }
    if (n < 0 && would_block(err)) {
      n = co_await after_eagain(reg, io_interest::write, ticket, buf.data() + done,
                                buf.size() - done, kind == write_kind::socket);
      err = n < 0 ? static_cast<int>(-n) : 0;
    }
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (err == EINTR || would_block(err)) continue;
    throw_io_error(err, "write", target);
  }
}

task<> stream_connect(const io_registration& reg, const sockaddr* addr, socklen_t len,
                      op_target target) {
  std::uint32_t ticket = reg.ticket(io_interest::write);
  if (sys::get().connect(reg.fd(), addr, len) == 0) co_return;
  int err = errno;
  if (err != EINPROGRESS && err != EINTR && err != EAGAIN) throw_io_error(err, "connect", target);
  if (err == EAGAIN) {
    // AF_UNIX with a full backlog: nothing started; try again after a yield.
    for (;;) {
      co_await brigade::yield_now();
      if (sys::get().connect(reg.fd(), addr, len) == 0) co_return;
      err = errno;
      if (err == EINPROGRESS) break;
      if (err != EAGAIN && err != EINTR) throw_io_error(err, "connect", target);
    }
  }
  for (;;) {
    co_await reg.ready(io_interest::write, ticket);
    ticket = reg.ticket(io_interest::write);
    int so_error = 0;
    socklen_t so_len = sizeof so_error;
    if (::getsockopt(reg.fd(), SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0) so_error = errno;
    if (so_error != 0) throw_io_error(so_error, "connect", target);
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (::getpeername(reg.fd(), reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) co_return;
    if (errno != ENOTCONN) throw_io_error(errno, "connect", target);
    // A wake before the handshake finished: wait for the next edge.
  }
}

std::pair<std::string, std::uint16_t> split_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close != std::string_view::npos && close + 1 < text.size() && text[close + 1] == ':') {
      host = text.substr(1, close - 1);
      port = text.substr(close + 2);
    }
  } else if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
      value > 65535) {
    throw std::invalid_argument("brigade::net: expected \"host:port\", got \"" + std::string(text) +
                                "\"");
  }
  return {std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace brigade::detail
