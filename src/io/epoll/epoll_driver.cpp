// The epoll backend (see epoll_driver.hpp for the protocols).

#include "io/epoll/epoll_driver.hpp"

#include <brigade/detail/sys.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace brigade::detail {

namespace {

constexpr int max_events = 256;

}  // namespace

int timeout_to_ms(std::optional<std::chrono::nanoseconds> timeout) noexcept {
  if (!timeout) return -1;
  if (timeout->count() <= 0) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
  return ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms);
}

epoll_reactor::epoll_reactor() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw std::system_error(err, std::system_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = nullptr;  // the unpark eventfd
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
    const int err = errno;
    ::close(event_fd_);
    ::close(epoll_fd_);
    throw std::system_error(err, std::system_category(), "epoll_ctl ADD eventfd");
  }
}

epoll_reactor::~epoll_reactor() {
  free_released(released_);
  ::close(event_fd_);
  ::close(epoll_fd_);
}

void epoll_reactor::add(io_source& source) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &source;
  if (sys::get().epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, source.fd_, &ev) != 0) {
    throw std::system_error(errno, std::system_category(), "epoll_ctl ADD");
  }
}

void epoll_reactor::remove(io_source* source) noexcept {
  // DEL before close: the fd number may be reused by another thread at once.
  sys::get().epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, source->fd_, nullptr);
  sys::get().close(source->fd_);
  {
    std::lock_guard lock(source->mutex_);
    source->detached_ = true;
  }
  std::unique_lock lock(release_mutex_);
  if (orphaned_) {
    lock.unlock();
    delete source;
    return;
  }
  source->next_release_ = released_;
  released_ = source;
}

void epoll_reactor::orphan() noexcept {
  io_source* list = nullptr;
  {
    std::lock_guard lock(release_mutex_);
    orphaned_ = true;
    list = released_;
    released_ = nullptr;
  }
  free_released(list);
}

void epoll_reactor::free_released(io_source* list) noexcept {
  while (list != nullptr) {
    io_source* next = list->next_release_;
    delete list;
    list = next;
  }
}

void epoll_reactor::unpark() noexcept {
  // acq_rel: release publishes the caller's work to the poller (pairs with
  // the exchange in poll()); only the first unpark since the last poll writes.
  if (unpark_pending_.exchange(true, memory_order_acq_rel)) return;
  const std::uint64_t one = 1;
  // The counter only needs to become non-zero; EAGAIN (saturated) is fine.
  [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);
}

void epoll_reactor::poll(int timeout_ms) noexcept {
  io_source* release = nullptr;
  {
    std::lock_guard lock(release_mutex_);
    release = released_;
    released_ = nullptr;
  }
  free_released(release);
  // acquire: pairs with unpark(); an unpark since the last poll returns now.
  if (timeout_ms != 0 && unpark_pending_.load(memory_order_acquire)) timeout_ms = 0;

  epoll_event events[max_events];
  const int n = sys::get().epoll_wait(epoll_fd_, events, max_events, timeout_ms);
  if (n <= 0) return;  // timeout, or EINTR: the caller re-checks its state
  for (int i = 0; i < n; ++i) {
    auto* source = static_cast<io_source*>(events[i].data.ptr);
    const std::uint32_t e = events[i].events;
    if (source == nullptr) {
      std::uint64_t value = 0;
      [[maybe_unused]] const ssize_t r = ::read(event_fd_, &value, sizeof value);
      // acq_rel: acquire pairs with unpark()'s release; clearing lets the
      // next unpark write again.
      unpark_pending_.exchange(false, memory_order_acq_rel);
      continue;
    }
    const bool failed = (e & (EPOLLERR | EPOLLHUP)) != 0;
    if (failed || (e & EPOLLRDHUP) != 0) {
      // Final states: a short read must not be taken for "empty" from now
      // on (stream_ops), or the EOF or error already reported by this edge
      // would never be read. relaxed: fire's release bump publishes it.
      source->read_closed_.store(true, memory_order_relaxed);
    }
    io_internal::fire(*source, failed || (e & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) != 0,
                      failed || (e & EPOLLOUT) != 0);
  }
}

void epoll_driver::poll(std::optional<std::chrono::nanoseconds> timeout) noexcept {
  core_->poll(timeout_to_ms(timeout));
}

}  // namespace brigade::detail
