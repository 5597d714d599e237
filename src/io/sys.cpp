// The syscall seam's default table: the real libc calls.

#include <brigade/detail/atomic.hpp>
#include <brigade/detail/sys.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>

namespace brigade::detail::sys {

namespace {

int real_io_uring_setup(unsigned entries, io_uring_params* params) {
#if defined(__NR_io_uring_setup)
  const long fd = ::syscall(__NR_io_uring_setup, entries, params);
  return fd < 0 ? -errno : static_cast<int>(fd);
#else
  (void)entries;
  (void)params;
  return -ENOSYS;
#endif
}

int real_io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                        const void* arg, std::size_t arg_size) {
#if defined(__NR_io_uring_enter)
  const long n = ::syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, arg_size);
  return n < 0 ? -errno : static_cast<int>(n);
#else
  (void)fd;
  (void)to_submit;
  (void)min_complete;
  (void)flags;
  (void)arg;
  (void)arg_size;
  return -ENOSYS;
#endif
}

const table real_table{
    .read = &::read,
    .write = &::write,
    .readv = &::readv,
    .writev = &::writev,
    .recv = &::recv,
    .send = &::send,
    .recvfrom = &::recvfrom,
    .sendto = &::sendto,
    .accept4 = &::accept4,
    .connect = &::connect,
    .socket = &::socket,
    .close = &::close,
    .epoll_wait = &::epoll_wait,
    .epoll_ctl = &::epoll_ctl,
    .io_uring_setup = &real_io_uring_setup,
    .io_uring_enter = &real_io_uring_enter,
    .short_read_drains = true,
    // Off by default for cost: in the pinned echo comparison the multishot
    // recv used more CPU per request than the one-shot recv (6.68 vs 8.06 us,
    // docs/design/io-backends.md "Off switch"). The hang once blamed on it
    // was the kernel missing EOFs on AF_UNIX, which keep the one-shot recv
    // anyway (stream_ops.hpp, recv_mode). recv_ring_test turns it on.
    .multishot_recv = false,
};

atomic<const table*> current{&real_table};

}  // namespace

const table& real() noexcept { return real_table; }

const table& get() noexcept {
  // acquire: pairs with the release in install(), so the installed table's
  // entries are visible.
  return *current.load(memory_order_acquire);
}

const table* install(const table* t) noexcept {
  // acq_rel: release publishes *t (pairs with the acquire in get()); acquire
  // hands the caller the previous table intact.
  return current.exchange(t == nullptr ? &real_table : t, memory_order_acq_rel);
}

}  // namespace brigade::detail::sys
