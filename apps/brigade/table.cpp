// Aligned text tables and unit formatting (see table.hpp).

#include "table.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace brigade::app {

namespace {

std::string printf_string(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string pad(const std::string& s, std::size_t width, align a) {
  const std::size_t w = display_width(s);
  if (w >= width) return s;
  const std::string fill(width - w, ' ');
  return a == align::left ? s + fill : fill + s;
}

}  // namespace

text_table::text_table(std::vector<column> columns) : columns_(std::move(columns)) {}

void text_table::add_row(std::vector<std::string> cells) {
  if (cells.size() > columns_.size()) throw std::invalid_argument("text_table: too many cells");
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void text_table::print(std::FILE* out, const std::string& indent) const {
  std::vector<std::size_t> widths(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = display_width(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  auto print_line = [&](auto cell_of) {
    std::string line = indent;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c > 0) line += "   ";
      line += pad(cell_of(c), widths[c], columns_[c].align);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
  };
  print_line([&](std::size_t c) { return columns_[c].header; });
  print_line([&](std::size_t c) { return std::string(widths[c], '-'); });
  for (const auto& row : rows_) print_line([&](std::size_t c) { return row[c]; });
}

std::size_t display_width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char ch : s) {
    if ((ch & 0xC0) != 0x80) ++w;  // count lead bytes, skip continuation bytes
  }
  return w;
}

std::string format_duration_ns(double ns) {
  if (!std::isfinite(ns)) return "n/a";
  if (ns < 10) return printf_string("%.1f ns", ns);
  if (ns < 1e3) return printf_string("%.0f ns", ns);
  if (ns < 1e6) return printf_string("%.1f µs", ns / 1e3);
  if (ns < 1e9) return printf_string("%.2f ms", ns / 1e6);
  return printf_string("%.2f s", ns / 1e9);
}

std::string format_bytes(double bytes) {
  if (!std::isfinite(bytes)) return "n/a";
  const double magnitude = std::fabs(bytes);
  if (magnitude < 0.5) return "0 B";  // not "-0 B" for a tiny negative delta
  if (magnitude < 1024) return printf_string("%.0f B", bytes);
  if (magnitude < 1024.0 * 1024) return printf_string("%.1f KiB", bytes / 1024);
  if (magnitude < 1024.0 * 1024 * 1024) return printf_string("%.1f MiB", bytes / (1024.0 * 1024));
  return printf_string("%.1f GiB", bytes / (1024.0 * 1024 * 1024));
}

std::string format_ratio(double ratio) {
  if (!std::isfinite(ratio) || ratio <= 0) return "n/a";
  if (ratio < 10) return printf_string("%.1f×", ratio);
  return format_count(static_cast<std::size_t>(std::llround(ratio))) + "×";
}

std::string format_count(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t lead = digits.size() % 3;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (i + 3 - lead) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace brigade::app
