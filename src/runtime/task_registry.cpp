#include "runtime/task_registry.hpp"

#include <cstdio>

namespace brigade::detail {

namespace {
const char* state_name(std::uint64_t s) {
  if ((s & task_header::running) != 0) return "running";
  if ((s & task_header::notified) != 0) return "scheduled";
  if ((s & task_header::started) == 0) return "not started";
  return "waiting";
}
}  // namespace

std::string task_registry::describe() const {
  std::string out;
  for (const task_header* t : tasks_) {
    const std::uint64_t s = t->state_.load(memory_order_relaxed);
    char line[512];
    std::snprintf(line, sizeof line, "task '%s' spawned at %s:%u (%s): %s%s\n",
                  t->name_ != nullptr ? t->name_ : "", t->location_.file_name(),
                  static_cast<unsigned>(t->location_.line()), t->location_.function_name(),
                  state_name(s), (s & task_header::cancelled) != 0 ? ", cancel requested" : "");
    out += line;
  }
  return out;
}

}  // namespace brigade::detail
