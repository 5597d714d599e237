#pragma once
// One self-contained HTML page (inline CSS, JS and SVG; no network): the
// tables, bar charts and timelines of a brigade run.
//
// The page embeds its data as JSON and draws it with a short script. The
// script sets document.title to "ok" once everything is drawn and to
// "error: ..." on any JavaScript error, which is what the headless-Chromium
// test checks (check_html.py).

#include "timeline.hpp"

#include <string>
#include <utility>
#include <vector>

namespace brigade::app {

struct html_table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

/// Horizontal bars, one per (label, value), the value printed with `unit`.
struct html_bar_chart {
  std::string title;
  std::string unit;  ///< "ms", "MiB", "jobs/s", ...
  std::vector<std::pair<std::string, double>> bars;
};

struct html_section {
  std::string heading;
  std::string text;  ///< plain text, one paragraph
  std::vector<html_table> tables;
  std::vector<html_bar_chart> charts;
  std::vector<std::string> timelines;  ///< each a timeline::to_json()
};

/// Writes the page to `path`. Throws: std::runtime_error when it cannot.
void write_html_report(const std::string& path, const std::string& title, const std::string& intro,
                       const std::vector<html_section>& sections);

}  // namespace brigade::app
