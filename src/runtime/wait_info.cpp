// Formatting of the "where it waits" word (detail/wait_info.hpp).

#include <brigade/detail/wait_info.hpp>

#include <cstdio>

namespace brigade::detail {
namespace {

const char* kind_name(wait_kind k) noexcept {
  switch (k) {
    case wait_kind::none:
      return "";
    case wait_kind::sleep:
      return "sleep";
    case wait_kind::timer:
      return "timer";
    case wait_kind::read_fd:
      return "read";
    case wait_kind::write_fd:
      return "write";
    case wait_kind::mutex:
      return "mutex";
    case wait_kind::shared_mutex:
      return "shared_mutex";
    case wait_kind::semaphore:
      return "semaphore";
    case wait_kind::notify:
      return "notify";
    case wait_kind::barrier:
      return "barrier";
    case wait_kind::latch:
      return "latch";
    case wait_kind::oneshot:
      return "oneshot recv";
    case wait_kind::mpsc_recv:
      return "mpsc recv";
    case wait_kind::mpsc_send:
      return "mpsc send";
    case wait_kind::broadcast:
      return "broadcast recv";
    case wait_kind::watch:
      return "watch changed";
    case wait_kind::join:
      return "join task";
    case wait_kind::task_group:
      return "task_group";
    case wait_kind::future:
      return "future";
    case wait_kind::cancellation:
      return "cancellation";
    case wait_kind::blocking:
      return "spawn_blocking job";
    case wait_kind::child:
      return "uncancellable child";
    case wait_kind::parallel:
      return "parallel work";
    case wait_kind::io_op:
      return "I/O operation on";
  }
  return "unknown wait";
}

}  // namespace

std::string describe_wait(std::uint64_t word, std::chrono::steady_clock::time_point now) {
  const auto raw_kind = static_cast<std::uint8_t>(word & 0xffu);
  if (raw_kind == 0) return {};
  if (raw_kind > static_cast<std::uint8_t>(wait_kind::last_)) return "unknown wait";
  const auto kind = static_cast<wait_kind>(raw_kind);
  const std::uint64_t payload = word >> wait_payload_shift;
  char buf[96];
  switch (kind) {
    case wait_kind::sleep:
    case wait_kind::timer: {
      const auto now_us =
          std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
      const double ms = (static_cast<double>(payload) - static_cast<double>(now_us)) / 1000.0;
      std::snprintf(buf, sizeof buf, "%s until %+.3f ms", kind_name(kind), ms);
      break;
    }
    case wait_kind::read_fd:
    case wait_kind::write_fd:
    case wait_kind::io_op:
      std::snprintf(buf, sizeof buf, "%s fd %llu", kind_name(kind),
                    static_cast<unsigned long long>(payload));
      break;
    default:
      std::snprintf(buf, sizeof buf, "%s 0x%llx", kind_name(kind),
                    static_cast<unsigned long long>(payload));
      break;
  }
  return buf;
}

}  // namespace brigade::detail
