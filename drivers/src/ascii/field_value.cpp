// Field values: a hand-written grammar check first, so std::from_chars only ever sees
// the forms we accept (it would take "inf", "nan" and "1e" prefixes otherwise), then
// from_chars for the conversion itself (locale-independent, exact, no allocation).
#include "weft/drivers/ascii/field_value.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "weft/drivers/ascii/escape.hpp"

namespace weft::ascii {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// [+-]? digits [. digits?]? | [+-]? . digits, then optionally [eE] [+-]? digits.
bool number_grammar(std::string_view s) noexcept {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exponent_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == s.size();
}

}  // namespace

std::optional<FieldType> field_type_from_string(std::string_view name) noexcept {
  if (name == "number") return FieldType::number;
  if (name == "integer") return FieldType::integer;
  if (name == "text") return FieldType::text;
  if (name == "auto") return FieldType::automatic;
  return std::nullopt;
}

std::string_view to_string(FieldType type) noexcept {
  switch (type) {
    case FieldType::number: return "number";
    case FieldType::integer: return "integer";
    case FieldType::text: return "text";
    case FieldType::automatic: return "auto";
  }
  return "unknown";
}

std::optional<double> read_number(std::string_view text) noexcept {
  if (!number_grammar(text)) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);  // from_chars takes '-' only
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<std::int64_t> read_integer(std::string_view text) noexcept {
  // One optional sign, then digits only; from_chars takes '-' but not '+'.
  const bool plus = !text.empty() && text.front() == '+';
  if (plus) text.remove_prefix(1);
  const std::size_t first_digit = !plus && !text.empty() && text.front() == '-' ? 1 : 0;
  if (text.size() <= first_digit || !is_digit(text[first_digit])) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<weft::Value> read_field(std::string_view text, FieldType type) {
  if (text.empty()) return std::nullopt;
  switch (type) {
    case FieldType::number:
      if (auto v = read_number(text)) return weft::Value{*v};
      return std::nullopt;
    case FieldType::integer:
      if (auto v = read_integer(text)) return weft::Value{*v};
      return std::nullopt;
    case FieldType::automatic:
      if (auto v = read_number(text)) return weft::Value{*v};
      [[fallthrough]];
    case FieldType::text:
      if (is_printable_utf8(text)) return weft::Value{std::string(text)};
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace weft::ascii
