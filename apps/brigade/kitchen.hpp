#pragma once
// `brigade kitchen`: the kitchen analogy, run for real. Every scenario of
// kitchen_scenarios.hpp in every model, each in a fresh child process, then
// a table (model, wall time, CPU time, threads, peak memory), optionally
// JSON on stdout, and optionally one HTML report with a timeline per run.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace brigade::app {

struct kitchen_options {
  std::size_t scale_ms = 10;  ///< real milliseconds per story minute
  std::size_t cooks = 2;      ///< workers of the multi-threaded model
  std::string html;           ///< report path; empty: none
  bool json = false;          ///< JSON on stdout instead of the tables
};

/// Parses the subcommand's arguments into `options`.
/// Returns false when --help was asked (the caller prints usage, exits 0).
/// Throws: usage_error.
bool parse_kitchen_args(std::span<const std::string_view> args, kitchen_options& options);

/// Runs, prints, writes the report. Returns the exit code.
int run_kitchen_command(const kitchen_options& options);

const char* kitchen_usage() noexcept;

}  // namespace brigade::app
