// The io_uring backend (see uring_driver.hpp for the protocols).

#include "io/uring/uring_driver.hpp"

#include "io/accept_queue.hpp"
#include "io/completion.hpp"
#include "io/recv_queue.hpp"

#include <brigade/detail/sys.hpp>

#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace brigade::detail {

namespace {

constexpr unsigned ring_entries = 256;
constexpr std::uint64_t tag_ignore = 0;  // POLL_REMOVE completions
constexpr std::uint64_t tag_unpark = 2;  // the eventfd poll
constexpr std::uint64_t dir_bit = 1;     // sources are 8-aligned: bit 0 is the direction
constexpr std::uint64_t op_bit = 4;      // awaiters are 8-aligned: bit 2 marks an operation
constexpr std::uint64_t accept_bit = 2;  // accept queues are 8-aligned: bit 1 marks a multishot
constexpr std::uint64_t recv_tag =
    3;  // recv queues are 8-aligned: low bits 011 mark a multishot recv

// The provided-buffer ring of multishot recv (recv_queue.hpp): 256 buffers
// of 2 KiB (512 KiB per runtime). A chunk is at most one buffer; a stream
// queues at most recv_queue::capacity of them before its multishot is
// cancelled, so one reader that stops reading cannot hold the ring.
constexpr unsigned buffer_count = 256;  // a power of two (the ring's mask)
constexpr unsigned buffer_size = 2048;
constexpr int buffer_group = 0;

bool kernel_at_least(int major, int minor) noexcept {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int ma = 0;
  int mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

class uring_reactor final : public reactor {
 public:
  uring_reactor() {
    // COOP_TASKRUN (5.19): a completion's task_work runs when the thread
    // that submitted next enters the kernel (or at the next tick), instead
    // of an interrupt per completion while it runs user code; without it a
    // busy echo server's CPU per request was bimodal, up to 3x
    // (docs/design/io-backends.md). TASKRUN_FLAG makes a non-blocking peek
    // enter the kernel when such work is pending. A sleeping submitter is
    // still woken to run it (a parked worker on its futex). Kernels that
    // refuse the flags (EINVAL) get a plain ring.
    io_uring_params params{};
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    int fd = sys::get().io_uring_setup(ring_entries, &params);
    if (fd == -EINVAL) {
      params = io_uring_params{};
      fd = sys::get().io_uring_setup(ring_entries, &params);
    }
    if (fd < 0) throw std::system_error(-fd, std::system_category(), "io_uring_setup");
    if ((params.features & IORING_FEAT_EXT_ARG) == 0) {
      ::close(fd);
      throw std::system_error(ENOSYS, std::system_category(), "io_uring without EXT_ARG");
    }
    if (const int rc = io_uring_queue_mmap(fd, &params, &ring_); rc < 0) {
      ::close(fd);
      throw std::system_error(-rc, std::system_category(), "io_uring mmap");
    }
    // io_uring_queue_mmap leaves two things to its caller that
    // io_uring_queue_init_params does: the SQ index array (slot i submits
    // SQE i) and the feature bits (without FEAT_EXT_ARG recorded, a timed
    // wait would submit a timeout SQE outside sq_mutex_).
    for (unsigned i = 0; i < *ring_.sq.kring_entries; ++i) ring_.sq.array[i] = i;
    ring_.features = params.features;
    completions_ = kernel_at_least(6, 0);
    if (completions_) setup_buffers();
    event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) {
      const int err = errno;
      io_uring_queue_exit(&ring_);
      throw std::system_error(err, std::system_category(), "eventfd");
    }
    arm_unpark();
  }

  ~uring_reactor() override {
    teardown();
    // Only now: an orphaned stream's queue (which holds the reactor) may
    // still read its chunks after the ring is gone. The kernel pinned the
    // pages it used and let them go at the ring's exit.
    if (buffer_ring_ != nullptr) ::munmap(buffer_ring_, buffer_bytes_);
  }

  void add(io_source&) override {}

  // s.mutex_ held (io_source.hpp): remove() cannot run meanwhile.
  void armed(io_source& s, io_interest interest) noexcept override {
    const int i = static_cast<int>(interest);
    if (s.poll_armed_[i] || s.detached_) return;
    const unsigned mask = interest == io_interest::read ? POLLIN | POLLRDHUP | POLLPRI : POLLOUT;
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return;  // orphaned: nobody reaps any more
    s.poll_armed_[i] = true;
    ++s.inflight_;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, s.fd_, mask);
    io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(&s) | static_cast<unsigned>(i));
    submit_locked();
  }

  void remove(io_source* s) noexcept override {
    // Step 5 of recv_queue.hpp, before the close: queued buffers go back to
    // the ring and the multishot is cancelled.
    if (s->recvq_ != nullptr) recv_queue::release(std::exchange(s->recvq_, nullptr));
    const int fd = s->fd_;  // once unlocked, a completion may free s
    const bool s_ops_used = s->ops_used_.load(memory_order_relaxed);
    bool free_now = false;
    {
      // Both locks: a poll is either armed before (and gets its POLL_REMOVE
      // here) or sees detached_ and is not armed; the completion that frees
      // the source finds it in zombies_.
      std::lock_guard source_lock(s->mutex_);
      s->detached_ = true;
      std::lock_guard lock(sq_mutex_);
      if (s->inflight_ == 0 || ring_closed_) {
        free_now = true;  // no completion will name it
      } else {
        zombies_.insert(s);
        for (int i = 0; i < 2; ++i) {
          if (!s->poll_armed_[i]) continue;
          io_uring_sqe* sqe = get_sqe();
          io_uring_prep_poll_remove(sqe,
                                    reinterpret_cast<std::uintptr_t>(s) | static_cast<unsigned>(i));
          io_uring_sqe_set_data64(sqe, tag_ignore);
        }
        submit_locked();
      }
    }
    // relaxed: set by the operation's own thread before its submission.
    if (s_ops_used) cancel_fd(fd);
    // The poll holds its own reference to the file: closing the fd neither
    // completes it nor lets a reused fd number reach it.
    sys::get().close(fd);
    if (free_now) delete s;
  }

  bool supports_completions() const noexcept override { return completions_; }

  void submit(completion_awaiter& op) noexcept override {
    const io_op& o = op.op();
    waiting_.fetch_add(1, memory_order_relaxed);
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) {
      fail_now(op);
      return;
    }
    io_uring_sqe* sqe = get_sqe();
    switch (o.op) {
      case io_op::kind::recv:
        io_uring_prep_recv(sqe, o.fd, o.data, o.size, o.flags);
        if (o.poll_first) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
        break;
      case io_op::kind::send:
        io_uring_prep_send(sqe, o.fd, o.data, o.size, o.flags);
        if (o.poll_first) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
        break;
      case io_op::kind::read:
        io_uring_prep_read(sqe, o.fd, o.data, static_cast<unsigned>(o.size), o.offset);
        break;
      case io_op::kind::write:
        io_uring_prep_write(sqe, o.fd, o.data, static_cast<unsigned>(o.size), o.offset);
        break;
      case io_op::kind::fsync:
        io_uring_prep_fsync(sqe, o.fd, 0);
        break;
      case io_op::kind::accept:
        io_uring_prep_accept(sqe, o.fd, static_cast<sockaddr*>(o.data), o.addr_len, o.flags);
        break;
      case io_op::kind::recvmsg:
        io_uring_prep_recvmsg(sqe, o.fd, static_cast<msghdr*>(o.data),
                              static_cast<unsigned>(o.flags));
        if (o.poll_first) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
        break;
      case io_op::kind::sendmsg:
        io_uring_prep_sendmsg(sqe, o.fd, static_cast<const msghdr*>(o.data),
                              static_cast<unsigned>(o.flags));
        if (o.poll_first) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
        break;
    }
    io_uring_sqe_set_data64(sqe, tag_of(op));
    submit_locked();
  }

  void cancel(completion_awaiter& op) noexcept override {
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, tag_of(op), 0);
    io_uring_sqe_set_data64(sqe, tag_ignore);
    submit_locked();
  }

  void abandon(completion_awaiter& op) noexcept override {
    std::lock_guard lock(sq_mutex_);
    waiting_.fetch_sub(1, memory_order_relaxed);
    if (ring_closed_) return;
    // Its SQE may still wait in the SQ (batched): the kernel must know it
    // before it can cancel it.
    submit_now();
    abandoned_.insert(tag_of(op));
    io_uring_sync_cancel_reg reg{};
    reg.addr = tag_of(op);
    reg.fd = -1;
    reg.timeout.tv_sec = -1;
    reg.timeout.tv_nsec = -1;
    // Returns once the operation is no longer running: its buffer (in the
    // dying frame) is not written after this. Fails only on kernels before
    // 6.0 (then the operation was a socket wait, cancelled promptly by the
    // ring's teardown) or when it already completed.
    (void)io_uring_register_sync_cancel(&ring_, &reg);
  }

  // q.mutex_ held (accept_queue.hpp). No peer address: one buffer would be
  // shared by every CQE; accept() asks getpeername instead.
  bool submit_accept(accept_queue& q) noexcept override {
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return false;
    multishots_.insert(&q);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, q.listen_fd(), nullptr, nullptr,
                                   SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(&q) | accept_bit);
    io_uring_submit(&ring_);
    return true;
  }

  void cancel_accept(accept_queue& q) noexcept override {
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, reinterpret_cast<std::uintptr_t>(&q) | accept_bit, 0);
    io_uring_sqe_set_data64(sqe, tag_ignore);
    io_uring_submit(&ring_);
  }

  bool supports_multishot_recv() const noexcept override { return buffer_ring_ != nullptr; }

  // q.mutex_ held (recv_queue.hpp). POLL_FIRST: the reader just saw EAGAIN.
  bool submit_recv(recv_queue& q) noexcept override {
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return false;
    recvs_.insert(&q);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv_multishot(sqe, q.fd(), nullptr, 0, 0);
    sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffer_group;
    io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(&q) | recv_tag);
    submit_locked();
    return true;
  }

  void cancel_recv(recv_queue& q) noexcept override {
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, reinterpret_cast<std::uintptr_t>(&q) | recv_tag, 0);
    io_uring_sqe_set_data64(sqe, tag_ignore);
    submit_locked();
  }

  // Any thread (a reader after copying, the driver for a CQE nobody
  // reads). buffer_mutex_ is a leaf lock: a queue's lock may be held.
  void recycle(const std::uint16_t* ids, std::size_t count) noexcept override {
    std::lock_guard lock(buffer_mutex_);
    const int mask = io_uring_buf_ring_mask(buffer_count);
    for (std::size_t i = 0; i < count; ++i) {
      io_uring_buf_ring_add(buffer_ring_, buffer(ids[i]), buffer_size, ids[i], mask,
                            static_cast<int>(i));
    }
    // The tail is published with a store-release: the kernel sees the entries.
    io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(count));
  }

  void poll(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    unsigned to_submit = 0;
    {
      std::lock_guard lock(sq_mutex_);
      if (ring_closed_) return;
      // From now on a submission by another thread goes to the kernel at
      // once (this thread may be asleep below); ours were batched until now.
      holder_ = std::this_thread::get_id();
      to_submit = flush_sq();
    }
    // acquire: pairs with the release in unpark().
    if (unpark_pending_.load(memory_order_acquire)) timeout = std::chrono::nanoseconds(0);
    unsigned wait_nr = timeout && timeout->count() <= 0 ? 0 : 1;
    if (io_uring_cq_ready(&ring_) > 0) wait_nr = 0;
    // Nothing to submit, nothing to wait for: enter only for pending
    // task_work (TASKRUN_FLAG) or an overflowed CQ.
    const unsigned kflags = IO_URING_READ_ONCE(*ring_.sq.kflags);
    if (to_submit > 0 || wait_nr > 0 || (kflags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) {
      __kernel_timespec ts{};
      io_uring_getevents_arg arg{};
      arg.sigmask_sz = _NSIG / 8;
      if (timeout && timeout->count() > 0) {
        ts.tv_sec = static_cast<long long>(timeout->count() / 1000000000);
        ts.tv_nsec = static_cast<long long>(timeout->count() % 1000000000);
        arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
      }
      // One io_uring_enter submits the batch and waits. An error (ETIME,
      // EINTR) is not one: we reap what is there and the caller re-checks.
      (void)sys::get().io_uring_enter(static_cast<unsigned>(ring_.ring_fd), to_submit, wait_nr,
                                      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
                                      sizeof arg);
    }
    // Every SQE is prepared and published under sq_mutex_. Counting the ready CQEs while
    // holding it orders the submitters' writes (the io_source each
    // user_data names) before our reads of exactly those completions; later
    // ones wait for the next poll. The kernel orders them too, but through
    // shared memory that no sanitizer can see.
    unsigned ready = 0;
    bool abandoned = false;
    {
      std::lock_guard lock(sq_mutex_);
      ready = io_uring_cq_ready(&ring_);
      abandoned = !abandoned_.empty();
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (seen == ready) break;
      ++seen;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      if (abandoned && forget_abandoned(data)) continue;
      if (is_accept(data)) {
        deliver_accept(data, cqe->res, cqe->flags);
        continue;
      }
      if (is_recv(data)) {
        deliver_recv(data, cqe->res, cqe->flags);
        continue;
      }
      complete(data, cqe->res);
    }
    io_uring_cq_advance(&ring_, seen);
  }

  void unpark() noexcept {
    // acq_rel: release publishes the caller's work (pairs with poll());
    // only the first unpark since the last poll writes.
    if (unpark_pending_.exchange(true, memory_order_acq_rel)) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);
  }

  void orphan() noexcept { teardown(); }

 private:
  // sq_mutex_ held. Batching: the driver holder's SQEs wait in the SQ until
  // its next poll(), which submits them with its wait (one io_uring_enter
  // per turn); any other thread submits at once, because the holder may be
  // asleep in io_uring_enter and would not see them. holder_ is set under
  // sq_mutex_ before the holder sleeps, so "holder_ is me" means nobody
  // sleeps on SQEs I leave behind: the next poll (mine, or another
  // thread's, which then submits the whole SQ) takes them.
  void submit_locked() noexcept {
    if (holder_ == std::this_thread::get_id()) return;
    submit_now();
  }

  // sq_mutex_ held: submits every prepared SQE now (through the seam).
  void submit_now() noexcept {
    const unsigned n = flush_sq();
    if (n == 0) return;
    (void)sys::get().io_uring_enter(static_cast<unsigned>(ring_.ring_fd), n, 0, 0, nullptr, 0);
  }

  // sq_mutex_ held: publishes the prepared SQEs to the kernel (the SQ tail)
  // without entering it; returns how many the kernel has not consumed.
  unsigned flush_sq() noexcept {
    const unsigned tail = ring_.sq.sqe_tail;
    if (ring_.sq.sqe_head != tail) {
      ring_.sq.sqe_head = tail;
      io_uring_smp_store_release(ring_.sq.ktail, tail);
    }
    return tail - IO_URING_READ_ONCE(*ring_.sq.khead);
  }

  io_uring_sqe* get_sqe() noexcept {  // sq_mutex_ held
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {  // the ring is full: make room
      submit_now();
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  static std::uint64_t tag_of(completion_awaiter& op) noexcept {
    return reinterpret_cast<std::uintptr_t>(&op) | op_bit;
  }

  // The ring is gone (sq_mutex_ held): the operation fails at once.
  void fail_now(completion_awaiter& op) noexcept { completion_internal::complete(op, -ECANCELED); }

  bool forget_abandoned(std::uint64_t data) noexcept {
    if ((data & op_bit) == 0) return false;
    std::lock_guard lock(sq_mutex_);
    return abandoned_.erase(data) != 0;
  }

  // Cancels every operation still in flight on `fd` (its owner closes it).
  void cancel_fd(int fd) noexcept {
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, tag_ignore);
    submit_locked();
  }

  void arm_unpark() noexcept {
    std::lock_guard lock(sq_mutex_);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, event_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, tag_unpark);
    submit_locked();
  }

  void complete(std::uint64_t data, int res) noexcept {
    if (data == tag_ignore || data == LIBURING_UDATA_TIMEOUT) return;
    if (data == tag_unpark) {
      std::uint64_t value = 0;
      [[maybe_unused]] const ssize_t r = ::read(event_fd_, &value, sizeof value);
      // acq_rel: acquire pairs with unpark(); clearing lets the next one write.
      unpark_pending_.exchange(false, memory_order_acq_rel);
      arm_unpark();
      return;
    }
    if ((data & op_bit) != 0) {
      completion_internal::complete(*reinterpret_cast<completion_awaiter*>(data & ~op_bit), res);
      return;
    }
    auto* s = reinterpret_cast<io_source*>(data & ~dir_bit);
    const int i = static_cast<int>(data & dir_bit);
    task_header* woken[2] = {nullptr, nullptr};
    bool last = false;
    {
      // The waiters are unlinked in the same critical section that drops
      // this poll's hold on the source: once it ends, remove() may free the
      // source at any moment (issue #5: fire() after the unlock raced with
      // the release).
      std::lock_guard lock(s->mutex_);
      s->poll_armed_[i] = false;
      // An error result (-ECANCELED, -EBADF ...) also fires: the operation
      // retries its syscall and reports the real error.
      if (!s->detached_) io_internal::fire_locked(*s, i == 0, i == 1, woken);
      --s->inflight_;
      last = s->detached_ && s->inflight_ == 0;
    }
    (void)res;
    io_internal::wake(woken);
    if (last) {
      {
        std::lock_guard lock(sq_mutex_);
        zombies_.erase(s);
      }
      delete s;
    }
  }

  static bool is_accept(std::uint64_t data) noexcept {
    return (data & 7) == accept_bit && data != tag_unpark;
  }

  // A multishot accept's CQE: the queue may be freed by deliver().
  void deliver_accept(std::uint64_t data, int res, unsigned flags) noexcept {
    auto* q = reinterpret_cast<accept_queue*>(data & ~accept_bit);
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
      std::lock_guard lock(sq_mutex_);
      multishots_.erase(q);
    }
    accept_queue::deliver(q, res, more);
  }

  static bool is_recv(std::uint64_t data) noexcept { return (data & 7) == recv_tag; }

  // A multishot recv's CQE: the queue may be freed by deliver().
  void deliver_recv(std::uint64_t data, int res, unsigned flags) noexcept {
    auto* q = reinterpret_cast<recv_queue*>(data & ~std::uint64_t{7});
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
      std::lock_guard lock(sq_mutex_);
      recvs_.erase(q);
    }
    std::byte* bytes = nullptr;
    std::uint16_t id = 0;
    if ((flags & IORING_CQE_F_BUFFER) != 0) {
      id = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
      bytes = buffer(id);
    }
    recv_queue::deliver(q, res, more, bytes, id);
  }

  std::byte* buffer(std::uint16_t id) const noexcept {
    return buffers_ + static_cast<std::size_t>(id) * buffer_size;
  }

  // The provided-buffer ring (liburing 2.3 has no io_uring_setup_buf_ring):
  // one page-aligned mapping holds the ring's entries, then the buffers.
  // Multishot recv stays off when the kernel refuses the registration.
  void setup_buffers() noexcept {
    const std::size_t ring_bytes = buffer_count * sizeof(io_uring_buf);
    const std::size_t bytes = ring_bytes + std::size_t{buffer_count} * buffer_size;
    void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return;
    auto* ring = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(ring);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(ring);
    reg.ring_entries = buffer_count;
    reg.bgid = buffer_group;
    if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) {
      ::munmap(mem, bytes);
      return;
    }
    buffer_ring_ = ring;
    buffers_ = static_cast<std::byte*>(mem) + ring_bytes;
    buffer_bytes_ = bytes;
    const int mask = io_uring_buf_ring_mask(buffer_count);
    for (unsigned i = 0; i < buffer_count; ++i) {
      const auto id = static_cast<std::uint16_t>(i);
      io_uring_buf_ring_add(ring, buffer(id), buffer_size, id, mask, static_cast<int>(i));
    }
    io_uring_buf_ring_advance(ring, static_cast<int>(buffer_count));
  }

  // sq_mutex_ held: returns once the request named `data` no longer runs.
  void cancel_sync(std::uint64_t data) noexcept {
    io_uring_sync_cancel_reg reg{};
    reg.addr = data;
    reg.fd = -1;
    reg.timeout.tv_sec = -1;
    reg.timeout.tv_nsec = -1;
    (void)io_uring_register_sync_cancel(&ring_, &reg);
  }

  // Teardown, step 6 of accept_queue.hpp and recv_queue.hpp: no accepted fd
  // or received chunk may stay in a CQE that nobody reads. Each multishot
  // is cancelled synchronously (it is no longer running when the call
  // returns), then the CQEs in the ring are delivered (accepted fds are
  // closed or queued, chunks queued for orphaned streams or returned); the
  // other CQEs are dropped as before (nobody waits for them any more). A
  // queue whose final CQE did not come is ended here.
  void end_multishots() noexcept {
    {
      std::lock_guard lock(sq_mutex_);
      if (ring_closed_ || (multishots_.empty() && recvs_.empty())) return;
      for (accept_queue* q : multishots_) {
        cancel_sync(reinterpret_cast<std::uintptr_t>(q) | accept_bit);
      }
      for (recv_queue* q : recvs_) cancel_sync(reinterpret_cast<std::uintptr_t>(q) | recv_tag);
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      if (is_accept(data)) deliver_accept(data, cqe->res, cqe->flags);
      if (is_recv(data)) deliver_recv(data, cqe->res, cqe->flags);
    }
    io_uring_cq_advance(&ring_, seen);
    std::vector<accept_queue*> left;
    std::vector<recv_queue*> left_recvs;
    {
      std::lock_guard lock(sq_mutex_);
      left.assign(multishots_.begin(), multishots_.end());
      multishots_.clear();
      left_recvs.assign(recvs_.begin(), recvs_.end());
      recvs_.clear();
    }
    for (accept_queue* q : left) accept_queue::deliver(q, -ECANCELED, false);
    for (recv_queue* q : left_recvs) recv_queue::deliver(q, -ECANCELED, false, nullptr, 0);
  }

  void teardown() noexcept {
    end_multishots();
    std::lock_guard lock(sq_mutex_);
    if (ring_closed_) return;
    ring_closed_ = true;
    io_uring_queue_exit(&ring_);  // the kernel cancels every poll
    ::close(event_fd_);
    for (io_source* s : zombies_) delete s;
    zombies_.clear();
  }

  io_uring ring_{};
  int event_fd_ = -1;
  // Completion-based operations need IORING_RECVSEND_POLL_FIRST and
  // IORING_ASYNC_CANCEL_FD (5.19) and IORING_REGISTER_SYNC_CANCEL (6.0);
  // older kernels keep the readiness path (and fs the blocking pool).
  bool completions_ = false;
  atomic<bool> unpark_pending_{false};
  std::mutex sq_mutex_;
  std::thread::id holder_;                        // the last thread in poll(); sq_mutex_
  bool ring_closed_ = false;                      // guarded by sq_mutex_
  std::unordered_set<io_source*> zombies_;        // guarded by sq_mutex_
  std::unordered_set<std::uint64_t> abandoned_;   // guarded by sq_mutex_
  std::unordered_set<accept_queue*> multishots_;  // guarded: multishot accepts in flight
  std::unordered_set<recv_queue*> recvs_;         // guarded: multishot recvs in flight
  // The provided-buffer ring (null: no multishot recv) and its buffers,
  // mapped until the reactor dies. buffer_mutex_ guards the ring's tail.
  io_uring_buf_ring* buffer_ring_ = nullptr;
  std::byte* buffers_ = nullptr;
  std::size_t buffer_bytes_ = 0;
  std::mutex buffer_mutex_;
};

class uring_driver final : public io_driver {
 public:
  uring_driver() : core_(std::make_shared<uring_reactor>()) {}
  ~uring_driver() override { core_->orphan(); }

  void poll(std::optional<std::chrono::nanoseconds> timeout) noexcept override {
    core_->poll(timeout);
  }
  void unpark() noexcept override { core_->unpark(); }
  bool has_pending_io() const noexcept override {
    return core_->waiting_.load(memory_order_relaxed) > 0;
  }
  io_backend backend() const noexcept override { return io_backend::io_uring; }
  std::shared_ptr<reactor> core() const noexcept override { return core_; }

 private:
  std::shared_ptr<uring_reactor> core_;
};

}  // namespace

std::unique_ptr<io_driver> make_uring_driver() { return std::make_unique<uring_driver>(); }

}  // namespace brigade::detail
