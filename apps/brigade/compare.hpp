#pragma once
// `brigade compare`: the same workload in four models (compare_workloads.hpp)
// for an I/O-bound load (many concurrent waits: timers, and request/response
// exchanges with an in-process TCP server on 127.0.0.1), a CPU-bound load (hashing)
// and a mixed one. Each run happens in a fresh child process, so its CPU
// time, peak RSS and threads are its own. Prints a table per load, or JSON
// (--json), and optionally an HTML report with bar charts and timelines.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace brigade::app {

struct compare_options {
  std::size_t io = 1000;       ///< concurrent timer waits of the I/O-bound load
  std::size_t requests = 200;  ///< concurrent loopback TCP requests of the I/O-bound load
  std::size_t cpu = 200;       ///< hash jobs of the CPU-bound load
  std::size_t mixed = 400;     ///< jobs of the mixed load
  std::size_t wait_ms = 1;     ///< each wait
  std::size_t job_us = 2000;   ///< CPU per hash job (calibrated to this machine)
  std::size_t workers = 0;     ///< of the pool; 0: one per hardware thread
  std::string html;            ///< report path; empty: none
  std::string trace;           ///< Chrome trace of the pool's CPU-bound run; empty: none
  bool json = false;           ///< JSON on stdout instead of the tables
};

/// Parses the subcommand's arguments into `options`.
/// Returns false when --help was asked (the caller prints usage, exits 0).
/// Throws: usage_error.
bool parse_compare_args(std::span<const std::string_view> args, compare_options& options);

/// Runs, prints, writes the report. Returns the exit code.
int run_compare_command(const compare_options& options);

const char* compare_usage() noexcept;

}  // namespace brigade::app
