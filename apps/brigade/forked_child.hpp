#pragma once
// Runs a measurement in a forked child process and brings back its numbers.
//
// Why: a first round is only "cold" (fresh pages, empty frame cache) in a
// process that has not run one yet, and an RSS delta only counts pages that
// are touched for the first time. A child forked from a parent that has
// measured nothing yet gives both, once per measurement.
//
// Call it only while the calling process has a single thread (fork copies
// just the calling thread; locks held by others would stay locked).

#include <functional>
#include <string>
#include <vector>

namespace brigade::app {

struct child_outcome {
  bool ok = false;
  std::string error;           ///< when !ok: the exception's message, or how the child died
  std::vector<double> values;  ///< what the function returned
};

/// Forks; the child runs `measure` and sends its result (or the message of
/// what it threw) back through a pipe, then exits without running the
/// parent's atexit handlers. The parent waits for it.
child_outcome run_in_child(const std::function<std::vector<double>()>& measure);

/// What run_in_child_text brings back.
struct child_text_outcome {
  bool ok = false;
  std::string error;  ///< when !ok: the exception's message, or how the child died
  std::string text;   ///< what the function returned
};

/// As run_in_child, for a result of any size (e.g. numbers and a timeline).
child_text_outcome run_in_child_text(const std::function<std::string()>& measure);

}  // namespace brigade::app
