#pragma once
// `brigade spawn-cost`: the first claim of the mission, measured here and
// now — a task costs a small fraction of an OS thread, to start and to keep
// waiting.
//
// What it measures (the workloads are bench/support/workloads.hpp, shared
// with the micro benchmarks):
//   1. start: spawn + join of N empty tasks (current_thread, and multi_thread
//      when this build has it), first round in a fresh process and warm
//      (median of R rounds), vs create + join of M std::threads.
//   2. memory: N tasks suspended at once (parked on a notify-like gate, and
//      awaiting a join_handle) vs M std::threads blocked on a std::latch.
//   3. start latency (start_latency.hpp): p50/p99 of the time from the spawn
//      call to the first instruction of the body, for std::threads and for
//      tasks on both flavors, one start at a time.
// The fresh-process figures run in forked children before the parent does
// anything else (see forked_child.hpp).

#include <cstddef>
#include <span>
#include <string_view>

namespace brigade::app {

struct spawn_cost_options {
  std::size_t tasks = 200'000;  ///< N
  std::size_t threads = 1'000;  ///< M
  std::size_t rounds = 5;       ///< R, warm rounds (median reported)
  std::size_t workers = 2;      ///< multi_thread workers
  bool json = false;            ///< JSON on stdout instead of the tables
};

/// Parses the subcommand's arguments into `options`.
/// Returns false when --help was asked (the caller prints usage, exits 0).
/// Throws: usage_error.
bool parse_spawn_cost_args(std::span<const std::string_view> args, spawn_cost_options& options);

/// Measures and prints the report on stdout. Returns the exit code.
int run_spawn_cost(const spawn_cost_options& options);

/// The usage text of the subcommand.
const char* spawn_cost_usage() noexcept;

}  // namespace brigade::app
