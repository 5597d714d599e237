// brigade: the command-line program. Runs the demos that show, on this
// machine, what the runtime claims (DESIGN.md, PERFORMANCE.md).
//
//   brigade help                 the commands
//   brigade spawn-cost [...]     tasks vs OS threads: time to start, memory to wait
//   brigade kitchen [...]        the kitchen analogy in every model, with timelines
//   brigade compare [...]        one workload in four models: I/O-, CPU-bound, mixed
//   brigade demo                 every demo in sequence, sized for a few seconds
//
// Exit codes: 0 success, 1 a measurement failed, 2 bad command line.

#include "args.hpp"
#include "compare.hpp"
#include "kitchen.hpp"
#include "spawn_cost.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace app = brigade::app;

std::string current_directory() {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::current_path(ec);
  return ec ? std::string(".") : p.string();
}

constexpr int exit_usage = 2;

void print_usage(std::FILE* out) {
  std::fputs(
      "usage: brigade <command> [options]\n"
      "\n"
      "commands:\n"
      "  help         show this text (also: brigade <command> --help)\n"
      "  spawn-cost   start N tasks vs M OS threads: time per start, start latency,\n"
      "               memory per waiter [--tasks N] [--threads M] [--rounds R]\n"
      "               [--workers W] [--json]\n"
      "  kitchen      the kitchen analogy (eggs and toast, dinner, theatre queue) run\n"
      "               synchronously, async on one thread and async with several cooks\n"
      "               [--scale MS] [--cooks N] [--html FILE] [--json]\n"
      "  compare      one workload in four models (sync, async one thread, a thread per\n"
      "               task, async work-stealing pool) for I/O-bound, CPU-bound and mixed\n"
      "               loads (timer waits and loopback TCP requests; hashing; both)\n"
      "               [--io N] [--requests N] [--cpu N] [--mixed N] [--workers W]\n"
      "               [--html FILE] [--json]\n"
      "  demo         run spawn-cost, kitchen and compare with small sizes and write\n"
      "               kitchen.html and compare.html into the current directory\n",
      out);
}

int run_spawn_cost_command(std::span<const std::string_view> args) {
  app::spawn_cost_options options;
  if (!app::parse_spawn_cost_args(args, options)) {
    std::fputs(app::spawn_cost_usage(), stdout);
    return 0;
  }
  return app::run_spawn_cost(options);
}

int run_kitchen(std::span<const std::string_view> args) {
  app::kitchen_options options;
  if (!app::parse_kitchen_args(args, options)) {
    std::fputs(app::kitchen_usage(), stdout);
    return 0;
  }
  return app::run_kitchen_command(options);
}

int run_compare(std::span<const std::string_view> args) {
  app::compare_options options;
  if (!app::parse_compare_args(args, options)) {
    std::fputs(app::compare_usage(), stdout);
    return 0;
  }
  return app::run_compare_command(options);
}

constexpr const char* demo_usage =
    "usage: brigade demo\n"
    "\n"
    "  Runs every demo in sequence, sized to finish in well under 30 seconds:\n"
    "  spawn-cost, kitchen (writes kitchen.html) and compare (writes compare.html).\n"
    "  The HTML reports go into the current directory; their paths are printed.\n";

int run_demo(std::span<const std::string_view> args) {
  if (!args.empty()) {
    if (args[0] == "--help" || args[0] == "-h") {
      std::fputs(demo_usage, stdout);
      return 0;
    }
    throw app::usage_error("demo takes no arguments");
  }
  int worst = 0;
  std::puts("== demo 1/3: spawn-cost ==\n");
  // Smaller than spawn-cost's defaults: the demo's three parts share ~30 s.
  worst = std::max(worst, app::run_spawn_cost(app::spawn_cost_options{
                              .tasks = 50'000, .threads = 500, .rounds = 3, .workers = 2}));
  std::puts("\n== demo 2/3: kitchen ==\n");
  worst = std::max(worst, app::run_kitchen_command(app::kitchen_options{.html = "kitchen.html"}));
  std::puts("\n== demo 3/3: compare ==\n");
  // Half of compare's defaults: the same contrasts, in half the time.
  app::compare_options compare;
  compare.io = 500;
  compare.requests = 100;
  compare.cpu = 100;
  compare.mixed = 200;
  compare.html = "compare.html";
  worst = std::max(worst, app::run_compare_command(compare));
  std::printf("\nreports: %s/kitchen.html and %s/compare.html\n", current_directory().c_str(),
              current_directory().c_str());
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> words(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (words.empty()) {
    std::fputs("brigade: missing command\n\n", stderr);
    print_usage(stderr);
    return exit_usage;
  }
  const std::string_view command = words[0];
  const std::span<const std::string_view> rest(words.data() + 1, words.size() - 1);
  try {
    if (command == "help" || command == "--help" || command == "-h") {
      print_usage(stdout);
      return 0;
    }
    if (command == "spawn-cost") return run_spawn_cost_command(rest);
    if (command == "kitchen") return run_kitchen(rest);
    if (command == "compare") return run_compare(rest);
    if (command == "demo") return run_demo(rest);
    throw app::usage_error("unknown command '" + std::string(command) + "'");
  } catch (const app::usage_error& e) {
    const bool known = command == "spawn-cost" || command == "kitchen" || command == "compare" ||
                       command == "demo";
    if (known) {
      std::fprintf(stderr, "brigade %.*s: %s\n\n", static_cast<int>(command.size()), command.data(),
                   e.what());
    } else {
      std::fprintf(stderr, "brigade: %s\n\n", e.what());
    }
    if (command == "spawn-cost") {
      std::fputs(app::spawn_cost_usage(), stderr);
    } else if (command == "kitchen") {
      std::fputs(app::kitchen_usage(), stderr);
    } else if (command == "compare") {
      std::fputs(app::compare_usage(), stderr);
    } else if (command == "demo") {
      std::fputs(demo_usage, stderr);
    } else {
      print_usage(stderr);
    }
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "brigade %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                 e.what());
    return 1;
  }
}
