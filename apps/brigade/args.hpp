#pragma once
// A small hand-written command-line parser for the brigade program.
//
// Options are `--name VALUE` or `--name=VALUE` with integer or text values,
// switches (`--json`), plus `--help` / `-h`. Anything else is a usage_error, which main() turns
// into a message on stderr, the usage text and exit code 2.

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace brigade::app {

/// A mistake in the command line (exit code 2).
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One integer option: its name (with the dashes), where the value goes,
/// and the accepted range.
struct size_option {
  std::string_view name;
  std::size_t* value;
  std::size_t min;
  std::size_t max;
};

/// A switch without a value (`--json`): set to true when present.
struct flag_option {
  std::string_view name;
  bool* value;
};

/// An option whose value is any non-empty text (`--html report.html`).
struct text_option {
  std::string_view name;
  std::string* value;
};

/// Every option a subcommand accepts.
struct option_set {
  std::span<const size_option> sizes;
  std::span<const flag_option> flags = {};
  std::span<const text_option> texts = {};
};

/// What parse_options found besides the options themselves.
enum class parse_outcome : unsigned char { run, help_requested };

/// Parses `args` (the words after the subcommand) into `options`.
/// Throws: usage_error for an unknown option, a missing or malformed value,
/// a value out of range, or a positional argument.
parse_outcome parse_options(std::span<const std::string_view> args,
                            std::span<const size_option> options);

/// As above, with switches and text options too.
parse_outcome parse_options(std::span<const std::string_view> args, const option_set& options);

/// Parses a decimal count ("1000", "1_000", "1,000"). Throws usage_error
/// naming `option` when `text` is not one or is outside [min, max].
std::size_t parse_size(std::string_view option, std::string_view text, std::size_t min,
                       std::size_t max);

}  // namespace brigade::app
