// Tests of the decimal-only text/number conversions (ca-gateway #37: "100w"
// must not become 256), number formatting with precision, saturating casts,
// and the EPICS epoch (1990-01-01) in both directions.
#include "weft/drivers/ca/convert.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "weft/drivers/ca/epics_time.hpp"

// Inside weft::ca, not `using namespace`: in a unity batch another file's
// using-directive would make names like Value or Error ambiguous.
namespace weft::ca {


TEST_CASE("ca convert parses decimal numbers only", "[ca][convert]") {
  CHECK(parse_double("1.5") == 1.5);
  CHECK(parse_double("  -2.5e3\t") == -2500);
  CHECK(parse_double("+7") == 7);
  CHECK(parse_double(".5") == 0.5);
  CHECK(parse_double("5.") == 5);
  CHECK(std::isinf(*parse_double("inf")));
  CHECK(std::isnan(*parse_double("NaN")));
  for (const char* bad : {"", " ", "100w", "0x10", "0X1F", "1,5", "1 2", "+-1", "++1", "e5", "1e400", "abc"}) {
    INFO(bad);
    CHECK_FALSE(parse_double(bad));
  }
}

TEST_CASE("ca convert parses integers in range, truncating fractions", "[ca][convert]") {
  CHECK(parse_integer("42", -100, 100) == 42);
  CHECK(parse_integer(" -42 ", -100, 100) == -42);
  CHECK(parse_integer("+5", 0, 10) == 5);
  CHECK(parse_integer("12.7", 0, 100) == 12);
  CHECK(parse_integer("-12.7", -100, 100) == -12);
  CHECK(parse_integer("1e2", 0, 1000) == 100);
  CHECK_FALSE(parse_integer("101", -100, 100));
  CHECK_FALSE(parse_integer("0x10", 0, 100));
  CHECK_FALSE(parse_integer("010x", 0, 100));
  CHECK(parse_integer("010", 0, 100) == 10);  // decimal, not octal
  CHECK_FALSE(parse_integer("100w", 0, 1000));
  CHECK_FALSE(parse_integer("nan", 0, 1000));
  CHECK_FALSE(parse_integer("+-3", -10, 10));
  CHECK_FALSE(parse_integer("", 0, 10));
}

TEST_CASE("ca convert formats numbers as libca users expect", "[ca][convert]") {
  CHECK(format_number(42, true, std::nullopt) == "42");
  CHECK(format_number(-7, true, 3) == "-7");
  CHECK(format_number(1.5, false, std::nullopt) == "1.5");
  CHECK(format_number(0.1, false, std::nullopt) == "0.1");
  CHECK(format_number(1.23456, false, 2) == "1.23");
  CHECK(format_number(2, false, 0) == "2");
  CHECK(format_number(1e300, false, 3).size() <= 39);
  CHECK(format_number(std::nan(""), false, 2) == "nan");
  CHECK(format_number(-std::numeric_limits<double>::infinity(), false, 2) == "-inf");
  CHECK(format_number(1e20, true, std::nullopt).size() <= 39);
}

TEST_CASE("ca convert saturates casts", "[ca][convert]") {
  CHECK(saturate<std::int16_t>(1e9) == 32767);
  CHECK(saturate<std::int16_t>(-1e9) == -32768);
  CHECK(saturate<std::uint8_t>(-1) == 0);
  CHECK(saturate<std::uint16_t>(std::nan("")) == 0);
  CHECK(saturate<std::int32_t>(std::numeric_limits<double>::infinity()) == std::numeric_limits<std::int32_t>::max());
  CHECK(saturate<std::int32_t>(-12.9) == -12);
}

TEST_CASE("ca convert epics time stamps count from 1990-01-01", "[ca][convert]") {
  using namespace std::chrono;
  const system_clock::time_point epoch{seconds(631152000)};
  CHECK(to_epics(epoch) == TimeStamp{0, 0});
  CHECK(to_epics(epoch + seconds(10) + nanoseconds(5)) == TimeStamp{10, 5});
  CHECK(to_epics(system_clock::time_point{seconds(0)}) == TimeStamp{0, 0});  // 1970: before the epoch
  const auto t = system_clock::time_point{seconds(1'700'000'000) + microseconds(250)};
  CHECK(to_epics(t) == TimeStamp{1'700'000'000u - 631'152'000u, 250'000u});
  CHECK(from_epics(to_epics(t)) == t);
  CHECK(from_epics(TimeStamp{0, 2'000'000'000u}) == epoch + nanoseconds(999'999'999));
}

}  // namespace weft::ca
