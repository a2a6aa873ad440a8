// Decimal-only text/number conversions. std::from_chars does the parsing:
// it knows no hex prefix, no locale and no leading blanks or '+', so those
// are handled here and nothing else slips through.
#include "weft/drivers/ca/convert.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

namespace weft::ca {
namespace {

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<double> parse_double(std::string_view text) noexcept {
  text = trim(text);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  // from_chars also takes C's "nan(n-char-sequence)" ("nan(0x10)"): only a
  // bare nan is one of the documented words (found by tests/fuzz/ca_dbr).
  if (std::isnan(value)) {
    std::string_view word = text;
    if (word.front() == '-') word.remove_prefix(1);
    if (word.size() != 3) return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> parse_integer(std::string_view text, std::int64_t min, std::int64_t max) noexcept {
  const std::string_view trimmed = trim(text);
  std::string_view digits = trimmed;
  bool plus = false;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
    plus = true;
  }
  if (digits.empty() || (plus && (digits.front() == '-' || digits.front() == '+'))) return std::nullopt;
  std::int64_t whole = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), whole, 10);
  if (ec == std::errc{} && end == digits.data() + digits.size()) {
    if (whole < min || whole > max) return std::nullopt;
    return whole;
  }
  // A fraction or an exponent: parse as a number and truncate toward zero.
  const auto number = parse_double(trimmed);
  if (!number || !std::isfinite(*number)) return std::nullopt;
  const double truncated = std::trunc(*number);
  // Outside int64 first: (double)INT64_MAX rounds up to 2^63, so comparing
  // with a bound converted to double let 2^63 through to an undefined cast
  // (found by tests/fuzz/ca_dbr: "9223372036854775807.5").
  constexpr double two_63 = 9223372036854775808.0;
  if (!(truncated >= -two_63 && truncated < two_63)) return std::nullopt;
  const auto whole_part = static_cast<std::int64_t>(truncated);
  if (whole_part < min || whole_part > max) return std::nullopt;
  return whole_part;
}

std::string format_number(double value, bool integral, std::optional<int> precision) {
  char buffer[64];
  if (integral && std::isfinite(value) && std::fabs(value) < 9.2e18) {
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(std::trunc(value)));
    if (ec == std::errc{}) return std::string(buffer, end);
  }
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value < 0 ? "-inf" : "inf");
  constexpr int max_chars = 39;
  if (precision) {
    const int digits = *precision < 0 ? 0 : (*precision > 17 ? 17 : *precision);
    int n = std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    if (n > 0 && n <= max_chars) return std::string(buffer, static_cast<std::size_t>(n));
    // Rounding to few digits can carry past the largest double ("%.0e" of
    // -1.797e308 is "-2e+308", which no client can read back as a number:
    // found by tests/fuzz/ca_dbr): take one more digit until it reads back.
    // At 16 digits after the point every finite double round-trips.
    for (int d = digits;; ++d) {
      n = std::snprintf(buffer, sizeof buffer, "%.*e", d, value);  // at most 24 characters: fits
      if (d >= 16 || (n > 0 && parse_double(std::string_view(buffer, static_cast<std::size_t>(n))))) break;
    }
    return std::string(buffer, static_cast<std::size_t>(n > 0 ? n : 0));
  }
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("nan");
}

template <class T>
T saturate(double value) noexcept {
  if (std::isnan(value)) return T{0};
  constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
  constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (value <= lo) return std::numeric_limits<T>::min();
  if (value >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(value);
}

template std::int16_t saturate<std::int16_t>(double) noexcept;
template std::uint16_t saturate<std::uint16_t>(double) noexcept;
template std::uint8_t saturate<std::uint8_t>(double) noexcept;
template std::int32_t saturate<std::int32_t>(double) noexcept;

}  // namespace weft::ca
