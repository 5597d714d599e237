#pragma once
// source_location: where a task was spawned.
//
// source_location where the standard library provides it (g++ 12);
// otherwise (clang 14 with libstdc++ 12, whose <source_location> needs a
// builtin clang 14 lacks) an equivalent built on __builtin_FILE/LINE/
// FUNCTION, which both compilers evaluate at the outermost call site when
// used in default arguments. Same member functions either way.

#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>

namespace brigade {
using source_location = std::source_location;
}  // namespace brigade

#else
#include <cstdint>

namespace brigade {

class source_location {
 public:
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           const char* function = __builtin_FUNCTION(),
                                           std::uint_least32_t line = __builtin_LINE()) noexcept {
    source_location loc;
    loc.file_ = file;
    loc.function_ = function;
    loc.line_ = line;
    return loc;
  }
  constexpr source_location() noexcept = default;
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr std::uint_least32_t column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
};

}  // namespace brigade
#endif
