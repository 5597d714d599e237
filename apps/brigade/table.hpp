#pragma once
// Aligned text tables and the unit formatting of brigade's reports.
//
// Cells are UTF-8 ("µs", "×"): widths count code points, not bytes, so the
// columns line up in a terminal.

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace brigade::app {

enum class align : unsigned char { left, right };

struct column {
  std::string header;
  brigade::app::align align = align::right;
};

/// A table printed with its columns padded to their widest cell.
class text_table {
 public:
  explicit text_table(std::vector<column> columns);

  /// Adds a row; missing cells print empty, extra cells are an error.
  void add_row(std::vector<std::string> cells);

  /// Prints the header, a rule, and the rows, each line prefixed by `indent`.
  void print(std::FILE* out, const std::string& indent = "  ") const;

 private:
  std::vector<column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

/// Width of a UTF-8 string in terminal columns (one per code point).
std::size_t display_width(const std::string& s);

/// "38 ns", "4.2 ns", "61.3 µs", "1.25 ms", "2.10 s".
std::string format_duration_ns(double ns);
/// "144 B", "8.3 KiB", "8.0 MiB"; negative values keep their sign.
std::string format_bytes(double bytes);
/// "1,463×", "12×", "2.5×"; "n/a" when not finite or not positive.
std::string format_ratio(double ratio);
/// "1,000,000".
std::string format_count(std::size_t n);

}  // namespace brigade::app
