#include "runtime/park.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <ctime>

namespace brigade::detail {

namespace {

void futex_wait(atomic<std::uint32_t>* word, std::uint32_t expected, const timespec* timeout) {
  // std::atomic<uint32_t> is a plain 32-bit word on Linux (checked below).
  static_assert(sizeof(atomic<std::uint32_t>) == sizeof(std::uint32_t));
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
            timeout, nullptr, 0);
}

void futex_wake_one(atomic<std::uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

}  // namespace

void parker::park() noexcept { park_impl(nullptr); }

void parker::park_for(std::chrono::nanoseconds timeout) noexcept { park_impl(&timeout); }

void parker::park_impl(const std::chrono::nanoseconds* timeout) noexcept {
  // acquire: pairs with the release in unpark(), so what the unparker wrote
  // before unparking (queued tasks) is visible after we return.
  if (state_.exchange(empty, memory_order_acquire) == notified) return;
  std::uint32_t expected = empty;
  if (!state_.compare_exchange_strong(expected, parked, memory_order_acquire,
                                      memory_order_acquire)) {
    // Only unpark can have changed it: notified. Consume the token.
    state_.exchange(empty, memory_order_acquire);
    return;
  }
  if (timeout == nullptr) {
    while (state_.load(memory_order_acquire) == parked) futex_wait(&state_, parked, nullptr);
  } else {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
    futex_wait(&state_, parked, &ts);
  }
  state_.exchange(empty, memory_order_acquire);
}

driver::park_result parker::park_on_driver(driver& d, driver::runtime_state state) noexcept {
  if (state_.exchange(empty, memory_order_acquire) == notified) return driver::park_result::woke;
  driver_.store(&d, memory_order_relaxed);  // published by the acq_rel CAS below
  std::uint32_t expected = empty;
  // acq_rel: release publishes driver_ to unpark(), which acquires.
  if (!state_.compare_exchange_strong(expected, parked_driver, memory_order_acq_rel,
                                      memory_order_acquire)) {
    state_.exchange(empty, memory_order_acquire);
    return driver::park_result::woke;
  }
  const driver::park_result result = d.park(state);
  state_.exchange(empty, memory_order_acquire);
  return result;
}

void parker::unpark() noexcept {
  // acq_rel: release pairs with the acquire in park(); acquire makes
  // driver_ visible when the owner sleeps in the driver.
  const std::uint32_t prev = state_.exchange(notified, memory_order_acq_rel);
  if (prev == parked) {
    futex_wake_one(&state_);
  } else if (prev == parked_driver) {
    driver_.load(memory_order_relaxed)->unpark();  // ordered by the acq_rel exchange
  }
}

}  // namespace brigade::detail
