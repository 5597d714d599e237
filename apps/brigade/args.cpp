// The brigade program's argument parser (see args.hpp).

#include "args.hpp"

#include <limits>

namespace brigade::app {

namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

std::size_t parse_size(std::string_view option, std::string_view text, std::size_t min,
                       std::size_t max) {
  const std::string expects = std::string(option) + " expects an integer from " +
                              std::to_string(min) + " to " + std::to_string(max);
  std::size_t value = 0;
  bool any_digit = false;
  for (char c : text) {
    if (c == '_' || c == ',') continue;
    if (c < '0' || c > '9') throw usage_error(expects + ", got " + quoted(text));
    const std::size_t digit = static_cast<std::size_t>(c - '0');
    if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10) {
      throw usage_error(expects + ", got " + quoted(text));
    }
    value = value * 10 + digit;
    any_digit = true;
  }
  if (!any_digit || value < min || value > max) {
    throw usage_error(expects + ", got " + quoted(text));
  }
  return value;
}

parse_outcome parse_options(std::span<const std::string_view> args,
                            std::span<const size_option> options) {
  return parse_options(args, option_set{.sizes = options});
}

parse_outcome parse_options(std::span<const std::string_view> args, const option_set& options) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view word = args[i];
    if (word == "--help" || word == "-h") return parse_outcome::help_requested;
    if (!word.starts_with("--")) throw usage_error("unexpected argument " + quoted(word));
    std::string_view name = word;
    std::string_view value;
    bool has_value = false;
    if (const std::size_t eq = word.find('='); eq != std::string_view::npos) {
      name = word.substr(0, eq);
      value = word.substr(eq + 1);
      has_value = true;
    }
    const flag_option* flag = nullptr;
    for (const flag_option& o : options.flags) {
      if (o.name == name) flag = &o;
    }
    if (flag != nullptr) {
      if (has_value) throw usage_error(std::string(name) + " takes no value");
      *flag->value = true;
      continue;
    }
    const size_option* size = nullptr;
    for (const size_option& o : options.sizes) {
      if (o.name == name) size = &o;
    }
    const text_option* text = nullptr;
    for (const text_option& o : options.texts) {
      if (o.name == name) text = &o;
    }
    if (size == nullptr && text == nullptr) throw usage_error("unknown option " + quoted(name));
    if (!has_value) {
      if (i + 1 >= args.size()) throw usage_error(std::string(name) + " needs a value");
      value = args[++i];
    }
    if (size != nullptr) {
      *size->value = parse_size(name, value, size->min, size->max);
    } else {
      if (value.empty()) throw usage_error(std::string(name) + " needs a non-empty value");
      *text->value = std::string(value);
    }
  }
  return parse_outcome::run;
}

}  // namespace brigade::app
