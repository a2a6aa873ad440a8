// Fuzz target: DBR payloads and the value conversions behind them
// (drivers/src/ca: dbr.cpp, convert.cpp), both directions. The first input
// byte picks the mode:
// 0 decode: decode_dbr of any code, count and payload (the payload in a
//   buffer of its own size, so a read past it is an ASan report); the
//   verdict is consistent (ca_checks.hpp check_decoded: errors of the right
//   kind naming the type or field, `count` elements, strings inside their
//   fields) and decode -> encode -> decode is the identity.
// 1 encode: a PV value (any native type, elements, alarm, stamp, metadata)
//   encoded as any code and count: the payload is dbr_payload_size bytes, an
//   error is the documented one (an unconvertible text names its element),
//   and the payload decodes to the value converted to the code's type:
//   elements (zero past the value's), alarm, stamp, metadata cast and cut;
//   a number representable in the target type comes back unchanged; a number
//   sent as text (no precision) parses back to itself; a decoded number
//   converted to text and back is unchanged.
// 2 parse: parse_double and parse_integer against a reference decimal
//   grammar: nothing outside it is accepted (no hex, no "100w", no
//   "nan(...)"), everything inside it that fits is, with the value strtod /
//   strtoll give; integer bounds are any int64 pair.
// 3 format: format_number stays within 39 characters, is decimal text, and
//   reads back: exactly without precision, within half a unit of the last
//   digit with it, as the same integer when integral; saturate stays in
//   range and truncates what is in range.
// 4 convert: convert_elements between any two types: sizes kept, an error
//   names its element, text to number by decimal parsing (state names first
//   for an enum), numbers saturated into the target's range.
#include <bit>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <iterator>
#include <limits>

#include "ca_checks.hpp"
#include "weft/drivers/ca/convert.hpp"

namespace {

using namespace weft::ca;
using namespace weft::fuzz::ca_checks;
using weft::fuzz::FuzzBytes;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trimmed(std::string_view t) {
  while (!t.empty() && is_blank(t.front())) t.remove_prefix(1);
  while (!t.empty() && is_blank(t.back())) t.remove_suffix(1);
  return t;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The grammar convert.hpp documents: blanks, a sign, digits with an optional
// fraction and exponent, or inf / infinity / nan in any case, blanks.
enum class Shape { none, integer, decimal, special };
Shape decimal_shape(std::string_view text) {
  std::string_view t = trimmed(text);
  if (!t.empty() && (t.front() == '+' || t.front() == '-')) t.remove_prefix(1);
  if (iequals(t, "inf") || iequals(t, "infinity") || iequals(t, "nan")) return Shape::special;
  std::size_t i = 0, digits = 0;
  auto isdigit = [&](std::size_t at) { return at < t.size() && t[at] >= '0' && t[at] <= '9'; };
  while (isdigit(i)) ++i, ++digits;
  if (i == t.size() && digits > 0) return Shape::integer;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (isdigit(i)) ++i, ++digits;
  }
  if (digits == 0) return Shape::none;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!isdigit(i)) return Shape::none;
    while (isdigit(i)) ++i;
  }
  return i == t.size() ? Shape::decimal : Shape::none;
}

// strtod of the text, and whether it is a finite, in-range result.
double reference_double(std::string_view text, bool& ok) {
  const std::string s(text);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  ok = errno == 0;
  return v;
}

void check_parse_double(std::string_view text) {
  const auto got = parse_double(text);
  const Shape shape = decimal_shape(text);
  if (got) {
    FUZZ_CHECK(shape != Shape::none, "parse_double accepted \"%s\", which is not decimal",
               std::string(text).c_str());
    bool ok = false;
    const double want = reference_double(text, ok);
    FUZZ_CHECK(same_number(*got, want), "parse_double(\"%s\") = %.17g, strtod says %.17g", std::string(text).c_str(),
               *got, want);
    return;
  }
  if (shape == Shape::none) return;
  bool ok = false;
  const double want = reference_double(text, ok);
  FUZZ_CHECK(!(ok && std::isfinite(want) && (want == 0 || std::fabs(want) >= std::numeric_limits<double>::min())),
             "parse_double refused the decimal \"%s\" (%.17g)", std::string(text).c_str(), want);
}

void check_parse_integer(std::string_view text, std::int64_t min, std::int64_t max) {
  const auto got = parse_integer(text, min, max);
  const Shape shape = decimal_shape(text);
  const std::string s(text);
  // The reference: strtoll for plain integers, else strtod truncated, compared in long double (exact for int64).
  bool fits = false;
  long double want = 0;
  if (shape == Shape::integer) {
    errno = 0;
    const long long v = std::strtoll(s.c_str(), nullptr, 10);
    fits = errno == 0;
    want = static_cast<long double>(v);
  } else if (shape == Shape::decimal) {
    bool ok = false;
    const double d = reference_double(text, ok);
    fits = std::isfinite(d);
    want = std::trunc(static_cast<long double>(d));
  }
  fits = fits && want >= static_cast<long double>(min) && want <= static_cast<long double>(max);
  if (got) {
    FUZZ_CHECK(shape == Shape::integer || shape == Shape::decimal, "parse_integer accepted \"%s\"", s.c_str());
    FUZZ_CHECK(*got >= min && *got <= max, "parse_integer(\"%s\") = %lld outside [%lld, %lld]", s.c_str(),
               static_cast<long long>(*got), static_cast<long long>(min), static_cast<long long>(max));
    FUZZ_CHECK(fits && static_cast<long double>(*got) == want, "parse_integer(\"%s\") = %lld, reference %Lg",
               s.c_str(), static_cast<long long>(*got), want);
  } else if (shape == Shape::integer) {
    FUZZ_CHECK(!fits, "parse_integer refused the integer \"%s\" in [%lld, %lld]", s.c_str(),
               static_cast<long long>(min), static_cast<long long>(max));
  }
  // A decimal with a fraction that underflows may be refused by parse_double; not checked.
}

constexpr double kInteresting[] = {0.0, -0.0, 1, -1, 0.5, -2.5, 1.5, 12.7, -12.7, 100, 255, 256, -129, -128,
                                   32767, 32768, -32768, -32769, 65535, 65536, 2147483647.0, 2147483648.0,
                                   -2147483648.0, -2147483649.0, 9.2e18, 9223372036854775807.0, -9223372036854775808.0,
                                   1e19, 1e300, -1e300, 3.4028234663852886e38, 3.5e38, 1e-300, 5e-324, 0.1, 1.0 / 3,
                                   std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                                   std::numeric_limits<double>::quiet_NaN(), 123456789.125, 1e21, 1e-7};

double number(FuzzBytes& in) {
  const std::uint8_t pick = in.u8();
  if (pick < 128) return kInteresting[pick % std::size(kInteresting)];
  if (pick < 192) return static_cast<double>(static_cast<std::int16_t>(in.u16()));
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = bits << 8 | in.u8();
  return std::bit_cast<double>(bits);
}

std::string text(FuzzBytes& in, std::size_t max) {
  const std::uint8_t pick = in.u8();
  if (pick < 96) return std::string(in.text(max));
  // A number as text, sometimes with blanks, a sign or an exponent.
  const double v = number(in);
  std::string s = format_number(v, (pick & 1) != 0, (pick & 2) ? std::optional<int>(pick % 20) : std::nullopt);
  if (pick & 4) s = " " + s + "\t";
  if ((pick & 8) && !s.empty() && s[0] != '-') s = "+" + s;
  return s.substr(0, max);
}

Metadata metadata(FuzzBytes& in) {
  Metadata m;
  const std::uint8_t flags = in.u8();
  if (flags & 1) m.precision = static_cast<std::int16_t>(in.u16() % 40 - 10);
  if (flags & 2) m.units = std::string(in.text(12));
  double* limits[] = {&m.upper_disp,    &m.lower_disp,  &m.upper_alarm, &m.upper_warning,
                      &m.lower_warning, &m.lower_alarm, &m.upper_ctrl,  &m.lower_ctrl};
  if (flags & 4) {
    for (double* l : limits) *l = number(in);
  }
  if (flags & 8) {
    const std::size_t states = in.u8() % 19;
    for (std::size_t i = 0; i < states; ++i) m.enum_strings.emplace_back(in.text(30));
  }
  return m;
}

Elements elements(FuzzBytes& in, ValueType type, std::size_t n) {
  if (type == ValueType::string) {
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < n; ++i) texts.push_back(text(in, 45));
    return texts;
  }
  std::vector<double> numbers;
  for (std::size_t i = 0; i < n; ++i) numbers.push_back(number(in));
  return numbers;
}

ValueType value_type(std::uint8_t b) { return static_cast<ValueType>(b % 7); }

bool is_integral(ValueType t) {
  return t == ValueType::int16 || t == ValueType::uint8 || t == ValueType::int32 || t == ValueType::enumerated;
}

// The target's range, for the integral types.
std::pair<double, double> range_of(ValueType t) {
  switch (t) {
    case ValueType::int16: return {-32768, 32767};
    case ValueType::enumerated: return {0, 65535};
    case ValueType::uint8: return {0, 255};
    case ValueType::int32: return {-2147483648.0, 2147483647.0};
    default: return {-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  }
}

bool representable(double v, ValueType t) {
  if (t == ValueType::float64) return true;
  if (t == ValueType::float32) return std::isnan(v) || std::isinf(v) || static_cast<double>(static_cast<float>(v)) == v;
  if (!is_integral(t)) return false;
  const auto [lo, hi] = range_of(t);
  return std::isfinite(v) && std::trunc(v) == v && v >= lo && v <= hi;
}

// A converted number lies where the target type can hold it.
void check_in_range(double v, ValueType t) {
  if (is_integral(t)) {
    const auto [lo, hi] = range_of(t);
    FUZZ_CHECK(std::isfinite(v) && std::trunc(v) == v && v >= lo && v <= hi, "%.17g outside %s", v,
               std::string(to_string(t)).c_str());
  } else if (t == ValueType::float32) {
    FUZZ_CHECK(std::isnan(v) || static_cast<double>(static_cast<float>(v)) == v, "%.17g is not a float", v);
  }
}

std::string cut(const std::string& s, std::size_t field) {
  std::string out = s.substr(0, std::min(s.size(), field - 1));
  const auto nul = out.find('\0');
  return nul == std::string::npos ? out : out.substr(0, nul);
}

void mode_decode(FuzzBytes& in) {
  const std::uint8_t b = in.u8();
  const Limits limits = pick_limits(in.u8());
  const std::uint16_t code = (b & 0x80) ? in.u16() : static_cast<std::uint16_t>(in.u8() % 40);
  std::uint32_t count = (b & 0x40) ? (std::uint32_t{in.u16()} << 16 | in.u16()) : in.u8() % 20;
  const auto rest = in.rest();
  const std::vector<std::uint8_t> payload(rest.begin(), rest.end());
  check_decoded(code, count, payload, limits, decode_dbr(code, count, payload, limits));
}

void mode_encode(FuzzBytes& in) {
  const Limits limits = pick_limits(in.u8());
  Value v;
  v.type = value_type(in.u8());
  const std::size_t n = in.u8() % 6;
  v.elements = elements(in, v.type == ValueType::string ? ValueType::string : ValueType::float64, n);
  if (v.type != ValueType::string) {
    // Values the native type can hold, most of the time (a PV's own value).
    if (in.flag()) {
      for (double& x : std::get<std::vector<double>>(v.elements)) {
        if (is_integral(v.type)) {
          const auto [lo, hi] = range_of(v.type);
          x = std::isfinite(x) ? std::clamp(std::trunc(x), lo, hi) : 0;
        } else if (v.type == ValueType::float32 && std::isfinite(x) && std::fabs(x) <= 3.4e38) {
          x = static_cast<float>(x);
        }
      }
    }
  }
  v.alarm = {static_cast<Status>(in.u8() % 23), static_cast<Severity>(in.u8() % 5)};
  v.stamp = {static_cast<std::uint32_t>(in.u16()) << 16 | in.u16(), static_cast<std::uint32_t>(in.u16()) << 14};
  v.meta = metadata(in);
  const std::uint8_t c = in.u8();
  const std::uint16_t code = c < 250 ? static_cast<std::uint16_t>(c % 39) : static_cast<std::uint16_t>(c);
  const std::uint32_t count = in.u8() % 8 == 7 ? in.u16() : in.u8() % 8;

  const auto layout = dbr_layout(code);
  const std::string name = dbr_name(code);
  const auto encoded = encode_dbr(code, count, v, limits);
  if (const auto* e = std::get_if<Error>(&encoded)) {
    FUZZ_CHECK(!e->detail.empty(), "an encode error without a detail");
    if (!layout || code == dbr_put_ackt || code == dbr_put_acks) {
      FUZZ_CHECK(e->code == errc::bad_type, "%s refused as %s", name.c_str(), e->message().c_str());
      return;
    }
    if (e->code == errc::too_large) {
      FUZZ_CHECK(std::uint64_t{count} * layout->value_size > limits.max_array_bytes && e->detail.starts_with(name),
                 "too_large for %s x %u: %s", name.c_str(), count, e->detail.c_str());
      return;
    }
    FUZZ_CHECK(e->code == errc::no_convert && v.type == ValueType::string &&
                   layout->value_type != ValueType::string && e->detail.starts_with("element ") &&
                   contains(e->detail, "is not a decimal"),
               "%s refused as %s", name.c_str(), e->message().c_str());
    return;
  }
  FUZZ_CHECK(layout && code != dbr_put_ackt && code != dbr_put_acks, "%s was encoded", name.c_str());
  const auto& bytes = std::get<Bytes>(encoded);
  FUZZ_CHECK(bytes.size() == *dbr_payload_size(code, count), "%s x %u encoded in %zu bytes", name.c_str(), count,
             bytes.size());
  const Bytes exact(bytes);
  const auto decoded = decode_dbr(code, count, exact, limits);
  check_decoded(code, count, exact, limits, decoded);
  FUZZ_CHECK(std::holds_alternative<Decoded>(decoded), "%s x %u we encoded does not decode: %s", name.c_str(), count,
             std::get<Error>(decoded).message().c_str());
  const Value& got = std::get<Decoded>(decoded).value;
  const ValueType t = layout->value_type;
  if (layout->family != Family::plain) FUZZ_CHECK(got.alarm == v.alarm, "%s: alarm", name.c_str());
  if (layout->family == Family::time) FUZZ_CHECK(got.stamp == v.stamp, "%s: time stamp", name.c_str());
  if ((layout->family == Family::gr || layout->family == Family::ctrl) && t != ValueType::string) {
    Metadata want;
    if (t == ValueType::enumerated) {
      for (std::size_t i = 0; i < std::min(v.meta.enum_strings.size(), max_enum_states); ++i) {
        want.enum_strings.push_back(cut(v.meta.enum_strings[i], max_enum_string_size));
      }
    } else {
      want.units = cut(v.meta.units, max_units_size);
      if (t == ValueType::float32 || t == ValueType::float64) want.precision = v.meta.precision.value_or(0);
      auto narrow = [&](double x) {
        const auto c2 = convert_elements(Elements{std::vector<double>{x}}, ValueType::float64, t, {});
        return std::get<std::vector<double>>(std::get<Elements>(c2)).front();
      };
      want.upper_disp = narrow(v.meta.upper_disp);
      want.lower_disp = narrow(v.meta.lower_disp);
      want.upper_alarm = narrow(v.meta.upper_alarm);
      want.upper_warning = narrow(v.meta.upper_warning);
      want.lower_warning = narrow(v.meta.lower_warning);
      want.lower_alarm = narrow(v.meta.lower_alarm);
      if (layout->family == Family::ctrl) {
        want.upper_ctrl = narrow(v.meta.upper_ctrl);
        want.lower_ctrl = narrow(v.meta.lower_ctrl);
      }
    }
    FUZZ_CHECK(same_meta(got.meta, want), "%s: metadata not what was sent, cast and cut", name.c_str());
  }
  if (code == dbr_class_name) return;
  // Elements: the value converted to the code's type, zero past its end.
  const auto converted = convert_elements(v.elements, v.type, t, v.meta);
  FUZZ_CHECK(std::holds_alternative<Elements>(converted), "encode succeeded where the conversion fails");
  const Elements& want = std::get<Elements>(converted);
  const std::size_t sent = std::min<std::size_t>(count, v.size());
  if (t == ValueType::string) {
    const auto& texts = std::get<std::vector<std::string>>(got.elements);
    const auto& wanted = std::get<std::vector<std::string>>(want);
    for (std::size_t i = 0; i < count; ++i) {
      FUZZ_CHECK(texts[i] == (i < sent ? cut(wanted[i], max_string_size) : std::string()), "%s element %zu",
                 name.c_str(), i);
    }
    // A number sent as text reads back as that number (no precision: the shortest exact text).
    if (v.type != ValueType::string && !v.meta.precision) {
      const auto& numbers = std::get<std::vector<double>>(v.elements);
      for (std::size_t i = 0; i < sent; ++i) {
        const double x = numbers[i];
        if (v.type == ValueType::enumerated && x >= 0 && x < static_cast<double>(v.meta.enum_strings.size())) continue;
        if (!representable(x, v.type) || !std::isfinite(x)) continue;
        const auto back = parse_double(texts[i]);
        FUZZ_CHECK(back && *back == x, "%.17g sent as %s reads back as \"%s\"", x, name.c_str(), texts[i].c_str());
      }
    }
    return;
  }
  const auto& numbers = std::get<std::vector<double>>(got.elements);
  const auto& wanted = std::get<std::vector<double>>(want);
  for (std::size_t i = 0; i < count; ++i) {
    check_in_range(numbers[i], t);
    FUZZ_CHECK(same_number(numbers[i], i < sent ? wanted[i] : 0.0), "%s element %zu: %.17g, want %.17g", name.c_str(),
               i, numbers[i], i < sent ? wanted[i] : 0.0);
  }
  if (v.type != ValueType::string) {
    const auto& sent_numbers = std::get<std::vector<double>>(v.elements);
    for (std::size_t i = 0; i < sent; ++i) {
      if (representable(sent_numbers[i], t)) {
        FUZZ_CHECK(same_number(numbers[i], sent_numbers[i]), "%.17g, representable in %s, came back as %.17g",
                   sent_numbers[i], name.c_str(), numbers[i]);
      }
    }
  }
  // And back: the decoded numbers as text (no precision) and as numbers again.
  const auto as_text = convert_elements(got.elements, t, ValueType::string, Metadata{});
  const auto again = convert_elements(std::get<Elements>(as_text), ValueType::string, t, Metadata{});
  FUZZ_CHECK(std::holds_alternative<Elements>(again), "%s: decoded numbers as text do not convert back: %s",
             name.c_str(), std::get<Error>(again).message().c_str());
  FUZZ_CHECK(same_elements(std::get<Elements>(again), got.elements), "%s: number -> text -> number changed a value",
             name.c_str());
}

void mode_parse(FuzzBytes& in) {
  static constexpr std::int64_t bounds[] = {std::numeric_limits<std::int64_t>::min(),
                                            std::numeric_limits<std::int64_t>::max(),
                                            -32768, 32767, 0, 255, 65535,
                                            std::numeric_limits<std::int32_t>::min(),
                                            std::numeric_limits<std::int32_t>::max(), -1, 1};
  const std::uint8_t b = in.u8();
  std::int64_t min = bounds[(b & 0x0F) % std::size(bounds)];
  std::int64_t max = bounds[(b >> 4) % std::size(bounds)];
  if (min > max) std::swap(min, max);
  const std::string_view t = in.rest_text();
  check_parse_double(t);
  check_parse_integer(t, min, max);
  check_parse_integer(t, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
}

void mode_format(FuzzBytes& in) {
  const double v = number(in);
  const std::uint8_t b = in.u8();
  const bool integral = b & 1;
  const std::optional<int> precision = (b & 2) ? std::optional<int>(static_cast<int>(b >> 2) - 20) : std::nullopt;
  const std::string s = format_number(v, integral, precision);
  FUZZ_CHECK(!s.empty() && s.size() <= 39, "format_number(%.17g) is %zu characters: \"%s\"", v, s.size(), s.c_str());
  const auto back = parse_double(s);
  FUZZ_CHECK(back.has_value(), "format_number(%.17g) = \"%s\" is not decimal text", v, s.c_str());
  if (std::isnan(v) || std::isinf(v)) {
    FUZZ_CHECK(same_number(*back, v), "\"%s\" for %.17g", s.c_str(), v);
  } else if (integral && std::fabs(v) < 9.2e18) {
    const auto i = parse_integer(s, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
    FUZZ_CHECK(i && static_cast<double>(*i) == std::trunc(v), "integral %.17g formatted as \"%s\"", v, s.c_str());
  } else if (!precision) {
    FUZZ_CHECK(*back == v, "%.17g formatted as \"%s\" reads back as %.17g", v, s.c_str(), *back);
  } else {
    const int digits = std::clamp(*precision, 0, 17);
    const double unit = std::pow(10.0, -digits);
    FUZZ_CHECK(std::fabs(*back - v) <= unit * std::max(1.0, std::fabs(v)), "%.17g at precision %d is \"%s\"", v,
               *precision, s.c_str());
  }
  const double x = number(in);
  auto check_sat = [x](auto got, double lo, double hi) {
    const double g = static_cast<double>(got);
    FUZZ_CHECK(g >= lo && g <= hi, "saturate(%.17g) = %.17g outside [%g, %g]", x, g, lo, hi);
    if (std::isnan(x)) FUZZ_CHECK(g == 0, "saturate(NaN) = %g", g);
    if (x >= lo && x <= hi) FUZZ_CHECK(g == std::trunc(x), "saturate(%.17g) = %.17g", x, g);
    if (x < lo) FUZZ_CHECK(g == lo, "saturate(%.17g) below the range gave %g", x, g);
    if (x > hi) FUZZ_CHECK(g == hi, "saturate(%.17g) above the range gave %g", x, g);
  };
  check_sat(saturate<std::int16_t>(x), -32768, 32767);
  check_sat(saturate<std::uint16_t>(x), 0, 65535);
  check_sat(saturate<std::uint8_t>(x), 0, 255);
  check_sat(saturate<std::int32_t>(x), -2147483648.0, 2147483647.0);
}

void mode_convert(FuzzBytes& in) {
  const ValueType from = value_type(in.u8());
  const ValueType to = value_type(in.u8());
  const std::size_t n = in.u8() % 6;
  const Elements el = elements(in, from, n);
  const Metadata meta = metadata(in);
  const auto r = convert_elements(el, from, to, meta);
  if (const auto* e = std::get_if<Error>(&r)) {
    FUZZ_CHECK(e->code == errc::no_convert && from == ValueType::string && to != ValueType::string,
               "convert %s -> %s refused: %s", std::string(to_string(from)).c_str(), std::string(to_string(to)).c_str(),
               e->message().c_str());
    FUZZ_CHECK(e->detail.starts_with("element ") && contains(e->detail, std::string(to_string(to))),
               "a conversion error that names no element or type: %s", e->detail.c_str());
    // The element named is one that does not convert.
    const std::size_t i = std::strtoul(e->detail.c_str() + 8, nullptr, 10);
    FUZZ_CHECK(i < n, "error names element %zu of %zu", i, n);
    return;
  }
  const Elements& out = std::get<Elements>(r);
  FUZZ_CHECK(std::visit([](const auto& v) { return v.size(); }, out) == n, "conversion changed the element count");
  FUZZ_CHECK((to == ValueType::string) == std::holds_alternative<std::vector<std::string>>(out),
             "the wrong kind of elements for %s", std::string(to_string(to)).c_str());
  if (to == ValueType::string) {
    if (from == ValueType::string) FUZZ_CHECK(same_elements(out, el), "text -> text changed");
    return;
  }
  const auto& numbers = std::get<std::vector<double>>(out);
  for (std::size_t i = 0; i < n; ++i) {
    check_in_range(numbers[i], to);
    if (from != ValueType::string) {
      const double x = std::get<std::vector<double>>(el)[i];
      if (representable(x, to)) FUZZ_CHECK(same_number(numbers[i], x), "%.17g changed to %.17g", x, numbers[i]);
      continue;
    }
    const std::string& t = std::get<std::vector<std::string>>(el)[i];
    if (to == ValueType::enumerated) {
      const auto at = std::find(meta.enum_strings.begin(), meta.enum_strings.end(), t);
      if (at != meta.enum_strings.end() && at - meta.enum_strings.begin() < 16) {
        FUZZ_CHECK(numbers[i] == static_cast<double>(at - meta.enum_strings.begin()), "state \"%s\" is %g", t.c_str(),
                   numbers[i]);
        continue;
      }
    }
    FUZZ_CHECK(decimal_shape(t) != Shape::none, "\"%s\" converted to %s %g", t.c_str(),
               std::string(to_string(to)).c_str(), numbers[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzBytes in(data, size);
  switch (in.u8() % 5) {
    case 0: mode_decode(in); break;
    case 1: mode_encode(in); break;
    case 2: mode_parse(in); break;
    case 3: mode_format(in); break;
    default: mode_convert(in); break;
  }
  return 0;
}
