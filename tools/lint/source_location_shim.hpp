// For `tools/dev lint` only (force-included into clang-tidy's parse, never
// compiled into weft): clang 14, Debian 12's clang-tidy, has no
// __builtin_source_location, so libstdc++ 12's <source_location> declares
// nothing under it and every file that includes weft/core/context.hpp fails
// to parse. This gives std::source_location the same interface from clang's
// older builtins (constexpr, not consteval: clang 14 refuses a consteval
// call as a default argument); g++ builds use the real one.
#pragma once
#if defined(__clang__) && !__has_builtin(__builtin_source_location)
#include <cstdint>
namespace std {
struct source_location {
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           const char* function = __builtin_FUNCTION(),
                                           uint_least32_t line = __builtin_LINE(),
                                           uint_least32_t column = __builtin_COLUMN()) noexcept {
    source_location s;
    s.file_ = file;
    s.function_ = function;
    s.line_ = line;
    s.column_ = column;
    return s;
  }
  constexpr source_location() noexcept = default;
  constexpr uint_least32_t line() const noexcept { return line_; }
  constexpr uint_least32_t column() const noexcept { return column_; }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }

private:
  const char* file_ = "";
  const char* function_ = "";
  uint_least32_t line_ = 0;
  uint_least32_t column_ = 0;
};
}  // namespace std
#endif
