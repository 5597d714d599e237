// brigade: the command-line program. Runs the demos that show, on this
// machine, what the runtime claims (DESIGN.md, PERFORMANCE.md).
//
//   brigade help                 the commands
//   brigade spawn-cost [...]     tasks vs OS threads: time to start, memory to wait
//   brigade demo                 every demo in sequence, sized for a few seconds
//
// Exit codes: 0 success, 1 a measurement failed, 2 bad command line.

#include "args.hpp"
#include "spawn_cost.hpp"

#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

namespace {

namespace app = brigade::app;

constexpr int exit_usage = 2;

void print_usage(std::FILE* out) {
  std::fputs(
      "usage: brigade <command> [options]\n"
      "\n"
      "commands:\n"
      "  help         show this text (also: brigade <command> --help)\n"
      "  spawn-cost   start N tasks vs M OS threads: time per start, memory per waiter\n"
      "               [--tasks N] [--threads M] [--rounds R] [--workers W]\n"
      "  demo         run every demo in sequence, sized to finish in a few seconds\n",
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

int run_demo(std::span<const std::string_view> args) {
  if (!args.empty()) {
    if (args[0] == "--help" || args[0] == "-h") {
      std::puts("usage: brigade demo\n\n  Runs every demo in sequence: spawn-cost.");
      return 0;
    }
    throw app::usage_error("demo takes no arguments");
  }
  std::puts("== demo 1/1: spawn-cost ==\n");
  // spawn-cost's defaults are sized for a few seconds on 2 cores.
  return app::run_spawn_cost(app::spawn_cost_options{});
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
    if (command == "demo") return run_demo(rest);
    throw app::usage_error("unknown command '" + std::string(command) + "'");
  } catch (const app::usage_error& e) {
    if (command == "spawn-cost" || command == "demo") {
      std::fprintf(stderr, "brigade %.*s: %s\n\n", static_cast<int>(command.size()), command.data(),
                   e.what());
    } else {
      std::fprintf(stderr, "brigade: %s\n\n", e.what());
    }
    if (command == "spawn-cost") {
      std::fputs(app::spawn_cost_usage(), stderr);
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
