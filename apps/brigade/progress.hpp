#pragma once
// A one-line progress display on stderr for the long commands, shown only
// when stderr is a terminal: redirected output and CI logs stay clean.

#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace brigade::app {

class progress_line {
 public:
  explicit progress_line(std::string_view command)
      : command_(command), enabled_(::isatty(STDERR_FILENO) == 1) {}
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;
  ~progress_line() { clear(); }

  /// Replaces the line with "<command>: <what>".
  void show(std::string_view what) {
    if (!enabled_) return;
    std::fprintf(stderr, "\r\033[K%s: %.*s", command_.c_str(), static_cast<int>(what.size()),
                 what.data());
    std::fflush(stderr);
    shown_ = true;
  }

  /// Erases the line (before printing results).
  void clear() {
    if (!enabled_ || !shown_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    shown_ = false;
  }

 private:
  std::string command_;
  bool enabled_;
  bool shown_ = false;
};

}  // namespace brigade::app
