// Picks the I/O backend at run time (DESIGN §4): io_backend::automatic tries
// io_uring and falls back to epoll when the kernel (or a seccomp policy, or
// a test through the syscall seam) refuses io_uring_setup.

#include "io/driver.hpp"
#include "io/epoll/epoll_driver.hpp"

#if defined(BRIGADE_HAVE_IO_URING)
#include "io/uring/uring_driver.hpp"
#endif

#include <cerrno>
#include <system_error>

namespace brigade::detail {

std::unique_ptr<io_driver> make_io_driver(io_backend requested) {
  switch (requested) {
    case io_backend::epoll:
      return std::make_unique<epoll_driver>();
    case io_backend::io_uring:
#if defined(BRIGADE_HAVE_IO_URING)
      return make_uring_driver();
#else
      throw std::system_error(ENOSYS, std::system_category(),
                              "io_uring backend (brigade was built without liburing)");
#endif
    case io_backend::automatic:
      break;
  }
#if defined(BRIGADE_HAVE_IO_URING)
  try {
    return make_uring_driver();
  } catch (const std::system_error&) {
    // Refused (seccomp, io_uring_disabled, old kernel): epoll always works.
  }
#endif
  return std::make_unique<epoll_driver>();
}

}  // namespace brigade::detail
