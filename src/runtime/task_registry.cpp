#include "runtime/task_registry.hpp"

#include <brigade/detail/wait_info.hpp>

#include <cstdio>
#include <string>

namespace brigade::detail {

namespace {
const char* state_name(std::uint64_t s) {
  if ((s & task_header::running) != 0) return "running";
  if ((s & task_header::notified) != 0) return "scheduled";
  if ((s & task_header::started) == 0) return "not started";
  return "waiting";
}
}  // namespace

std::string task_registry::describe(std::chrono::steady_clock::time_point now) const {
  std::string out;
  char id[32];
  for (const task_header* t : tasks_) {
    const std::uint64_t s = t->state_.load(memory_order_relaxed);
    std::snprintf(id, sizeof id, "task %p '", static_cast<const void*>(t));
    out += id;
    if (t->name_ != nullptr) out += t->name_;
    out += "' spawned at ";
    out += t->location_.file_name();
    out += ':';
    out += std::to_string(t->location_.line());
    out += " (";
    out += t->location_.function_name();
    out += "): ";
    out += state_name(s);
    if ((s & (task_header::running | task_header::notified)) == 0 &&
        (s & task_header::started) != 0) {
      // Idle: the word is the one its last suspension recorded.
      const std::string where = describe_wait(t->wait_.load(memory_order_relaxed), now);
      if (!where.empty()) {
        out += " on ";
        out += where;
      }
    }
    if ((s & task_header::cancelled) != 0) out += ", cancel requested";
    out += '\n';
  }
  return out;
}

}  // namespace brigade::detail
