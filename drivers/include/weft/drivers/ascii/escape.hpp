// Makes untrusted instrument bytes safe to log: the result is valid UTF-8 on one line.
// Well-formed UTF-8 passes through; every byte of an ill-formed sequence (overlong,
// surrogate, truncated, beyond U+10FFFF, stray continuation) becomes "\xNN" (lowercase
// hex), as does every control character but tab (C0, DEL, C1); '\' becomes "\\", so
// the escaping is reversible. Pure functions, no allocation beyond the result.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weft::ascii {

std::string escape_non_utf8(std::string_view bytes);

// escape_non_utf8 cut to at most max_chars bytes (plus "..." when cut), never inside
// an escape or a UTF-8 sequence; reads only as much input as it needs.
std::string escape_for_log(std::string_view bytes, std::size_t max_chars = 80);

// True when `bytes` is well-formed UTF-8 without control characters other than tab:
// the text values a parse spec accepts.
bool is_printable_utf8(std::string_view bytes) noexcept;

}  // namespace weft::ascii
