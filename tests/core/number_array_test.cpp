// NumberArray, the bus's array value (reading.hpp): copies share the
// elements (no copy per bus subscriber), equality by elements, Value no
// bigger than before, to_string short for long arrays, and the JSON text
// the store and upload use read back exactly, while anything that is not a
// flat array of JSON numbers is refused.
#include "weft/core/reading.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using weft::NumberArray;

// The scalars' Value was 40 bytes (std::string and the index): the array
// alternative must not make every reading bigger.
static_assert(sizeof(NumberArray) <= sizeof(std::string));
static_assert(sizeof(weft::Value) == sizeof(std::string) + 8);

TEST_CASE("number array: copies share the elements, compare by value", "[core][reading]") {
  const std::vector<double> v{1.5, 2, 3};
  const NumberArray a(v);
  const NumberArray b = a;  // NOLINT: the copy is the point
  CHECK(b.values().data() == a.values().data());
  CHECK(a == NumberArray(v));
  CHECK_FALSE(a == NumberArray(std::vector<double>{1.5, 2}));
  CHECK(NumberArray().empty());
  CHECK(NumberArray() == NumberArray(std::vector<double>{}));
  const weft::Value x = a;
  CHECK(x == weft::Value{NumberArray(v)});
  CHECK_FALSE(x == weft::Value{1.5});
}

TEST_CASE("number array: to_string shows the first 8 elements and the length", "[core][reading]") {
  CHECK(weft::to_string(weft::Value{NumberArray(std::vector<double>{1.5, 2, -0.25})}) == "[1.5, 2, -0.25]");
  CHECK(weft::to_string(weft::Value{NumberArray()}) == "[]");
  std::vector<double> many(100);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<double>(i);
  CHECK(weft::to_string(weft::Value{NumberArray(many)}) == "[0, 1, 2, 3, 4, 5, 6, 7, ... (100 elements)]");
}

TEST_CASE("number array: JSON text round-trips exactly and refuses what is not one", "[core][reading]") {
  constexpr double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> v{0.1, -0.0, 5e-324, 1.7976931348623157e308, 123, inf, -inf,
                              std::numeric_limits<double>::quiet_NaN()};
  const std::string exact = weft::number_array_json(v, true);
  CHECK(exact == "[0.1,-0,5e-324,1.7976931348623157e+308,123,9e999,-9e999,null]");
  CHECK(weft::number_array_json(v, false) == "[0.1,-0,5e-324,1.7976931348623157e+308,123,null,null,null]");
  const auto back = weft::parse_number_array_json(exact);
  REQUIRE(back);
  REQUIRE(back->size() == v.size());
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    INFO(i);
    CHECK(std::memcmp(&back->values()[i], &v[i], sizeof(double)) == 0);
  }
  CHECK(std::isnan(back->values().back()));
  CHECK(weft::parse_number_array_json("[]") == NumberArray());
  CHECK(weft::parse_number_array_json(" [ 1 , 2.5e1 ] ") == NumberArray(std::vector<double>{1, 25}));
  CHECK(weft::parse_number_array_json("[1e-999]") == NumberArray(std::vector<double>{0}));
  for (const char* bad : {"", "[", "]", "[1,]", "[,1]", "[1 2]", "[+1]", "[.5]", "[inf]", "[nan]", "[0x10]",
                          "[\"1\"]", "[[1]]", "[1]x", "1", "[-]", "[nul]", "{}"}) {
    INFO(bad);
    CHECK_FALSE(weft::parse_number_array_json(bad));
  }
}
