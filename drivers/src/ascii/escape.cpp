// escape_non_utf8 and friends: one decoder (Unicode Table 3-7, well-formed byte
// sequences) walks the input unit by unit; a unit is a whole well-formed code point
// or a single byte that starts no well-formed sequence. Units are either copied or
// written as "\xNN" per byte; nothing else is ever emitted besides "\\" and "...".
#include "weft/drivers/ascii/escape.hpp"

#include <algorithm>
#include <cstdint>

namespace weft::ascii {
namespace {

// Length of the well-formed sequence starting at s[i], or 0 when s[i] starts none.
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[i + k]); };
  const auto in = [](std::uint8_t b, std::uint8_t lo, std::uint8_t hi) { return b >= lo && b <= hi; };
  const std::size_t left = s.size() - i;
  const std::uint8_t b0 = byte(0);
  if (b0 <= 0x7F) return 1;
  if (in(b0, 0xC2, 0xDF)) return left >= 2 && in(byte(1), 0x80, 0xBF) ? 2 : 0;
  if (in(b0, 0xE0, 0xEF)) {
    if (left < 3) return 0;
    const std::uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F: overlong
    const std::uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;  // ED A0..BF: surrogates
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(b0, 0xF0, 0xF4)) {
    if (left < 4) return 0;
    const std::uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;  // F0 80..8F: overlong
    const std::uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;  // F4 90..: beyond U+10FFFF
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) && in(byte(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;  // 80..C1, F5..FF never start a well-formed sequence
}

// C0 controls but tab, DEL, and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F).
bool is_control(std::string_view s, std::size_t i, std::size_t len) noexcept {
  const auto b0 = static_cast<std::uint8_t>(s[i]);
  if (len == 1) return (b0 < 0x20 && b0 != '\t') || b0 == 0x7F;
  return len == 2 && b0 == 0xC2 && static_cast<std::uint8_t>(s[i + 1]) <= 0x9F;
}

void append_hex(std::string& out, std::uint8_t b) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[b >> 4];
  out += digits[b & 0x0F];
}

// Escapes s into out, stopping before the unit that would make out exceed `limit`
// bytes; returns false when it stopped early.
bool escape_into(std::string& out, std::string_view s, std::size_t limit) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = utf8_length(s, i);
    const bool escaped = len == 0 || is_control(s, i, len);
    const std::size_t take = len == 0 ? 1 : len;  // an ill-formed byte is a unit alone
    const bool backslash = len == 1 && s[i] == '\\';
    const std::size_t cost = escaped ? 4 * take : backslash ? 2 : take;
    if (out.size() + cost > limit) return false;
    if (escaped) {
      for (std::size_t k = 0; k < take; ++k) append_hex(out, static_cast<std::uint8_t>(s[i + k]));
    } else if (backslash) {
      out += "\\\\";
    } else {
      out.append(s.substr(i, take));
    }
    i += take;
  }
  return true;
}

}  // namespace

std::string escape_non_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  escape_into(out, bytes, std::string::npos);
  return out;
}

std::string escape_for_log(std::string_view bytes, std::size_t max_chars) {
  // Every input byte yields at least one output byte, so a unit starting at or past
  // index max_chars cannot fit; a unit is at most 4 bytes, so this prefix holds every
  // unit that can.
  const std::size_t enough = max_chars <= bytes.size() - std::min<std::size_t>(bytes.size(), 4)
                                 ? max_chars + 4
                                 : bytes.size();
  std::string out;
  out.reserve(std::min(enough, max_chars) + 3);
  if (!escape_into(out, bytes.substr(0, enough), max_chars) || enough < bytes.size()) out += "...";
  return out;
}

bool is_printable_utf8(std::string_view bytes) noexcept {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t len = utf8_length(bytes, i);
    if (len == 0 || is_control(bytes, i, len)) return false;
    i += len;
  }
  return true;
}

}  // namespace weft::ascii
