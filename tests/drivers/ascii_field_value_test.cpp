// Proves the strict reading of field text: the number grammar (what from_chars alone
// would wrongly accept — "inf", "nan", hex — is refused), integer range, text that is
// not printable UTF-8 refused, empty text read as nothing, and the type names.
// field_value.hpp is included first to prove it is self-contained.
#include "weft/drivers/ascii/field_value.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using weft::ascii::FieldType;
using weft::ascii::read_field;
using weft::ascii::read_integer;
using weft::ascii::read_number;

TEST_CASE("ascii field: numbers are read strictly", "[ascii][field]") {
  CHECK(read_number("0") == 0.0);
  CHECK(read_number("+1") == 1.0);
  CHECK(read_number("1.") == 1.0);
  CHECK(read_number(".5") == 0.5);
  CHECK(read_number("-.5") == -0.5);
  CHECK(read_number("1e3") == 1000.0);
  CHECK(read_number("1E-3") == 0.001);
  CHECK(read_number("+2.5e+2") == 250.0);
  CHECK(read_number("007") == 7.0);
  CHECK(std::signbit(*read_number("-0")));
  for (const char* bad : {"", "+", "-", ".", "e3", "1e", "1e+", "--1", "+-1", "-+1", "1..2", "1.2.3", "0x1A",
                          "inf", "-inf", "infinity", "nan", "NaN", "1e400", "-1e400", " 1", "1 ", "1 2", "1,5",
                          "1_000", "\xd9\xa1"}) {
    INFO(bad);
    CHECK_FALSE(read_number(bad));
  }
  CHECK_FALSE(read_number(std::string_view("1\0", 2)));
}

TEST_CASE("ascii field: integers are read strictly and in range", "[ascii][field]") {
  CHECK(read_integer("42") == 42);
  CHECK(read_integer("+42") == 42);
  CHECK(read_integer("-42") == -42);
  CHECK(read_integer("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  CHECK(read_integer("-9223372036854775808") == std::numeric_limits<std::int64_t>::min());
  for (const char* bad : {"", "+", "-", "+-1", "-+1", "--1", "1.0", "1e3", "0x10", " 1", "1 ",
                          "9223372036854775808", "-9223372036854775809", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(read_integer(bad));
  }
}

TEST_CASE("ascii field: typed reads", "[ascii][field]") {
  CHECK(read_field("21.5", FieldType::number) == weft::Value{21.5});
  CHECK(read_field("7", FieldType::integer) == weft::Value{std::int64_t{7}});
  CHECK(read_field("7", FieldType::text) == weft::Value{std::string("7")});
  CHECK(read_field("7", FieldType::automatic) == weft::Value{7.0});
  CHECK(read_field("OK", FieldType::automatic) == weft::Value{std::string("OK")});
  CHECK(read_field("caf\xC3\xA9", FieldType::text) == weft::Value{std::string("caf\xC3\xA9")});
  CHECK_FALSE(read_field("OK", FieldType::number));
  CHECK_FALSE(read_field("7.5", FieldType::integer));
  CHECK_FALSE(read_field("\xff", FieldType::text));
  CHECK_FALSE(read_field("a\nb", FieldType::automatic));
  for (const auto type : {FieldType::number, FieldType::integer, FieldType::text, FieldType::automatic}) {
    CHECK_FALSE(read_field("", type));  // empty is absent, never zero or ""
    CHECK(weft::ascii::field_type_from_string(weft::ascii::to_string(type)) == type);
  }
  CHECK(weft::ascii::field_type_from_string("auto") == FieldType::automatic);
  CHECK(weft::ascii::field_type_from_string("float") == std::nullopt);
}
