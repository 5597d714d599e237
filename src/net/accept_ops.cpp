// accept_fd (see accept_ops.hpp).

#include "net/accept_ops.hpp"

#include "io/accept_queue.hpp"
#include "io/completion.hpp"

#include <brigade/detail/sys.hpp>

#include <cerrno>

namespace brigade::detail {

namespace {

constexpr int accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;

/// A queued fd came from a multishot, which does not report the peer.
void fill_peer(int fd, sockaddr* peer, socklen_t* peer_len, socklen_t room) noexcept {
  if (peer == nullptr) return;
  *peer_len = room;
  if (::getpeername(fd, peer, peer_len) != 0) *peer_len = 0;  // already reset by the peer
}

}  // namespace

task<int> accept_fd(const io_registration& listener, accept_queue_ptr& queue, sockaddr* peer,
                    socklen_t* peer_len) {
  const socklen_t room = peer_len == nullptr ? 0 : *peer_len;
  reactor* core = listener.source()->reactor_.get();
  if (!queue && core->supports_completions()) {
    // From the first accept on: the queue counts the connections returned,
    // so that the listener's second wait already arms the multishot.
    queue.reset(new accept_queue(listener.source()->reactor_, listener.fd()));
  }
  for (;;) {
    if (accept_queue* q = queue.get()) {
      int got = 0;
      if (q->pop(got)) {
        if (got >= 0) {
          fill_peer(got, peer, peer_len, room);
          q->note_accepted();
        }
        co_return got;
      }
      if (q->armed()) {
        co_await q->wait();
        continue;
      }
    }
    const std::uint32_t ticket = listener.ticket(io_interest::read);
    if (peer_len != nullptr) *peer_len = room;
    const int fd = sys::get().accept4(listener.fd(), peer, peer_len, accept_flags);
    if (fd >= 0) {
      if (queue) queue->note_accepted();
      co_return fd;
    }
    const int err = errno;
    if (err != EAGAIN && err != EWOULDBLOCK) co_return -err;
    if (!queue) {  // epoll, or an io_uring without completion-based operations
      co_await listener.ready(io_interest::read, ticket);
      continue;
    }
    // relaxed: read by remove() on this fd's owner, after this operation.
    listener.source()->ops_used_.store(true, memory_order_relaxed);
    if (queue->wants_multishot()) {
      queue->arm();
      continue;
    }
    completion_awaiter op{*core, io_op{.op = io_op::kind::accept,
                                       .fd = listener.fd(),
                                       .data = peer,
                                       .flags = accept_flags,
                                       .addr_len = peer_len}};
    const int r = co_await op;
    if (r >= 0) queue->note_accepted();
    if (r != -EAGAIN && r != -EWOULDBLOCK) co_return r;
    co_await listener.ready(io_interest::read, ticket);
  }
}

}  // namespace brigade::detail
