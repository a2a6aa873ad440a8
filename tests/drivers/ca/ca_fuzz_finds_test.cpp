// Regression tests for what the CA fuzz targets (tests/fuzz/ca_request,
// ca_response, ca_dbr) found in drivers/ca, one TEST_CASE per find, each
// with the input that showed it. Every one of these failed (or crashed)
// before its fix.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "weft/drivers/ca/convert.hpp"
#include "weft/drivers/ca/dbr.hpp"

// Inside weft::ca, not `using namespace`: in a unity batch another file's
// using-directive would make names like Value or Error ambiguous.
namespace weft::ca {

// ca_dbr input e1 0b 00 9e: decode DBR_CLASS_NAME x 0 (an empty payload
// decodes), then encode it back: encode_dbr wrote "weft" into the empty
// payload, a store through the null data pointer of an empty vector.
TEST_CASE("ca fuzz find: CLASS_NAME with count 0 encodes an empty payload", "[ca][dbr][fuzz]") {
  Value v;
  v.type = ValueType::string;
  v.elements = std::vector<std::string>{};
  const auto encoded = encode_dbr(dbr_class_name, 0, v, Limits{});
  REQUIRE(std::holds_alternative<std::vector<std::uint8_t>>(encoded));
  CHECK(std::get<std::vector<std::uint8_t>>(encoded).empty());
  const auto one = encode_dbr(dbr_class_name, 1, v, Limits{});
  REQUIRE(std::holds_alternative<std::vector<std::uint8_t>>(one));
  const auto& bytes = std::get<std::vector<std::uint8_t>>(one);
  REQUIRE(bytes.size() == 40);
  CHECK(std::string(bytes.begin(), bytes.begin() + 5) == std::string("weft\0", 5));
}

// The clang build of the fuzz targets: Decoded's defaulted operator== was
// implicitly deleted (DbrLayout had none), so no decoded payload could be
// compared; g++ 12 accepted it silently until the first use.
TEST_CASE("ca fuzz find: decoded payloads compare equal", "[ca][dbr][fuzz]") {
  const std::vector<std::uint8_t> payload = {0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18};  // 3.14159...
  const auto a = decode_dbr(6, 1, payload, Limits{});
  const auto b = decode_dbr(6, 1, payload, Limits{});
  REQUIRE(std::holds_alternative<Decoded>(a));
  CHECK(std::get<Decoded>(a) == std::get<Decoded>(b));
  CHECK(std::get<Decoded>(a).layout == *dbr_layout(6));
  CHECK_FALSE(std::get<Decoded>(a).layout == *dbr_layout(20));
}

// ca_dbr input 02 10 "nan(0x10)": from_chars accepts C's NaN with an
// n-char-sequence, so parse_double took "nan(0x10)" (hex digits and all) as
// a number; only inf, infinity and a bare nan are words it documents.
TEST_CASE("ca fuzz find: parse_double refuses nan with a parenthesised tail", "[ca][convert][fuzz]") {
  for (const char* bad : {"nan(0x10)", "nan(ab)", "NAN()", "-nan(1)", "nan(", " nan(x) "}) {
    INFO(bad);
    CHECK_FALSE(parse_double(bad));
    CHECK_FALSE(parse_integer(bad, -100, 100));
  }
  CHECK(std::isnan(*parse_double("nan")));
  CHECK(std::isnan(*parse_double(" -NaN ")));
  CHECK(std::isinf(*parse_double("+Infinity")));
}

// ca_dbr input 02 10 " 9223372036854775807.5": with int64 bounds the
// fraction path compared trunc(9.2233720368547758e18) = 2^63 with
// (double)INT64_MAX, which is also 2^63, and cast it to int64: undefined
// (UBSan: outside the range of representable values of type 'long').
TEST_CASE("ca fuzz find: parse_integer at the int64 bounds", "[ca][convert][fuzz]") {
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  CHECK_FALSE(parse_integer(" 9223372036854775807.5", lo, hi));
  CHECK_FALSE(parse_integer("9.3e18", lo, hi));
  CHECK_FALSE(parse_integer("-9.3e18", lo, hi));
  CHECK(parse_integer("9223372036854775807", lo, hi) == hi);
  CHECK(parse_integer("-9223372036854775808", lo, hi) == lo);
  CHECK(parse_integer("-9223372036854775808.5", lo, hi) == lo);  // -2^63 exactly: in range
  CHECK(parse_integer("9.2e18", lo, hi) == 9'200'000'000'000'000'000);
  CHECK_FALSE(parse_integer("9.2e18", lo, 9'000'000'000'000'000'000));
}

// ca_dbr input A///7/////8AAAr/QAAAQAAAAAA= (base64): -DBL_MAX at precision
// 0 was formatted "%.0e" as "-2e+308", past the largest double, so the text
// a DBR_STRING reader got could not be read back as a number.
TEST_CASE("ca fuzz find: formatting near the largest double stays a number", "[ca][convert][fuzz]") {
  constexpr double big = std::numeric_limits<double>::max();
  for (const double v : {big, -big, 9.99e307, -1.797693134849236e+308}) {
    for (const int precision : {0, 1, 3}) {
      const std::string text = format_number(v, false, precision);
      INFO(text);
      const auto back = parse_double(text);
      REQUIRE(back);
      CHECK(std::isfinite(*back));
      CHECK(std::fabs(*back - v) <= std::fabs(v) * std::pow(10.0, -precision));  // precision + 1 significant digits
    }
  }
  CHECK(format_number(1.5e300, false, 0) == "2e+300");  // the ordinary case keeps its precision
  // Precision 17 with a number too long for "%f": the first fix's loop ran
  // no turn and returned the 312-character length of the "%f" attempt
  // over a 64-byte buffer (ASan: stack-buffer-overflow; ca_dbr again).
  const std::string long_one = format_number(1e308, false, 17);
  CHECK(long_one.size() <= 39);
  CHECK(parse_double(long_one) == 1e308);
}

}  // namespace weft::ca
