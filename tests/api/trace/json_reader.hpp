#pragma once
// A minimal JSON reader for the trace tests: enough of RFC 8259 to prove
// that trace_recording::chrome_json() is well-formed and to walk it.
// Throws std::runtime_error (with the offset) on malformed input.

#include <cctype>
#include <cstddef>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::test {

struct json_value {
  enum class type : unsigned char { null, boolean, number, string, array, object };
  type kind = type::null;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<json_value> items;
  std::map<std::string, json_value> members;

  const json_value& at(const std::string& key) const {
    const auto it = members.find(key);
    if (it == members.end()) throw std::runtime_error("no member " + key);
    return it->second;
  }
  bool has(const std::string& key) const { return members.count(key) != 0; }
};

class json_reader {
 public:
  explicit json_reader(std::string_view text) : s_(text) {}

  /// The whole text as one value (trailing whitespace allowed, nothing else).
  json_value parse_document() {
    json_value v = value();
    space();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("JSON: " + why + " at offset " + std::to_string(i_));
  }
  void space() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) {
      ++i_;
    }
  }
  char peek() {
    space();
    if (i_ >= s_.size()) fail("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  json_value value() {
    json_value v;
    const char c = peek();
    if (c == '{') {
      v.kind = json_value::type::object;
      ++i_;
      if (peek() == '}') {
        ++i_;
        return v;
      }
      for (;;) {
        if (peek() != '"') fail("expected a member name");
        std::string key = string();
        expect(':');
        v.members[key] = value();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = json_value::type::array;
      ++i_;
      if (peek() == ']') {
        ++i_;
        return v;
      }
      for (;;) {
        v.items.push_back(value());
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = json_value::type::string;
      v.text = string();
      return v;
    }
    if (literal("true")) {
      v.kind = json_value::type::boolean;
      v.boolean = true;
      return v;
    }
    if (literal("false")) {
      v.kind = json_value::type::boolean;
      return v;
    }
    if (literal("null")) return v;
    return number();
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c == '\\') {
        if (i_ >= s_.size()) fail("unterminated escape");
        const char e = s_[i_++];
        if (e == 'u') {
          if (i_ + 4 > s_.size()) fail("short \\u escape");
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s_[i_ + k];
            if (std::isxdigit(static_cast<unsigned char>(h)) == 0) fail("bad \\u escape");
            code =
                code * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) != 0
                                                      ? h - '0'
                                                      : (std::tolower(h) - 'a' + 10));
          }
          i_ += 4;
          // Enough for the tests: ASCII decoded, the rest replaced.
          c = code < 0x80 ? static_cast<char>(code) : '?';
        } else {
          const std::string_view escapes = "\"\\/bfnrt";
          const std::string_view meanings = "\"\\/\b\f\n\r\t";
          const std::size_t k = escapes.find(e);
          if (k == std::string_view::npos) fail("bad escape");
          c = meanings[k];
        }
      }
      out += c;
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }
  json_value number() {
    const std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    while (i_ < s_.size() &&
           (std::isdigit(static_cast<unsigned char>(s_[i_])) != 0 || s_[i_] == '.' ||
            s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
      ++i_;
    }
    if (i_ == start) fail("unexpected character");
    json_value v;
    v.kind = json_value::type::number;
    std::size_t used = 0;
    const std::string text(s_.substr(start, i_ - start));
    v.number = std::stod(text, &used);
    if (used != text.size()) fail("malformed number");
    return v;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace brigade::test
