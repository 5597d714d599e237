#include "runtime/task_registry.hpp"

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

std::string task_registry::describe() const {
  std::string out;
  for (const task_header* t : tasks_) {
    const std::uint64_t s = t->state_.load(memory_order_relaxed);
    out += "task '";
    if (t->name_ != nullptr) out += t->name_;
    out += "' spawned at ";
    out += t->location_.file_name();
    out += ':';
    out += std::to_string(t->location_.line());
    out += " (";
    out += t->location_.function_name();
    out += "): ";
    out += state_name(s);
    if ((s & task_header::cancelled) != 0) out += ", cancel requested";
    out += '\n';
  }
  return out;
}

}  // namespace brigade::detail
