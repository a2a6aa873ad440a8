// Tests of the persisted soft points' state file codec (soft_state.hpp):
// every type round-trips exactly (doubles by their bits, NaN, infinities,
// text with quotes, backslashes and control characters), and damaged files
// (truncated, garbage, wrong version, wrong value types, duplicates) give an
// error naming the file and never throw.
#include "weft/apps/ca/soft_state.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace weft::apps {
namespace {

std::uint64_t bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

}  // namespace

TEST_CASE("ca soft state round-trips every type exactly", "[ca][soft_state]") {
  ca_pv::SoftState s;
  s["sp.target"] = {"number", 72.5};
  s["sp.third"] = {"number", 0.1 + 0.2};
  s["sp.tiny"] = {"number", 5e-324};
  s["sp.big"] = {"number", -1.7976931348623157e308};
  s["sp.whole"] = {"number", 3.0};
  s["sp.negzero"] = {"number", -0.0};
  s["sp.inf"] = {"number", std::numeric_limits<double>::infinity()};
  s["sp.ninf"] = {"number", -std::numeric_limits<double>::infinity()};
  s["sp.count"] = {"integer", std::int64_t{-2147483648LL}};
  s["sp.mode"] = {"enum", std::int64_t{2}};
  s["sp.on"] = {"bool", false};
  s["sp.note"] = {"text", std::string("a \"quoted\" \\ back\tslash\nline\x01 \x7f \xc3\xa9")};
  s["sp.empty"] = {"text", std::string()};
  s["odd \"name\""] = {"integer", std::int64_t{1}};
  s["sp.curve"] = {"array", NumberArray(std::vector<double>{1.5, 0.1 + 0.2, -0.0, 5e-324, 3.0,
                                                             -std::numeric_limits<double>::infinity()})};
  s["sp.none"] = {"array", NumberArray()};
  const std::string text = ca_pv::format_soft_state(s);
  const auto parsed = ca_pv::parse_soft_state(text, "/data/ca-soft-points.toml");
  REQUIRE(parsed.error.empty());
  REQUIRE(parsed.state.size() == s.size());
  for (const auto& [name, pv] : s) {
    INFO(name);
    const auto it = parsed.state.find(name);
    REQUIRE(it != parsed.state.end());
    CHECK(it->second.type == pv.type);
    if (const auto* d = std::get_if<double>(&pv.value)) {
      REQUIRE(std::holds_alternative<double>(it->second.value));
      CHECK(bits(std::get<double>(it->second.value)) == bits(*d));
    } else if (const auto* a = std::get_if<NumberArray>(&pv.value)) {
      REQUIRE(std::holds_alternative<NumberArray>(it->second.value));
      const auto back = std::get<NumberArray>(it->second.value).values();
      REQUIRE(back.size() == a->size());
      for (std::size_t i = 0; i < back.size(); ++i) CHECK(bits(back[i]) == bits(a->values()[i]));
    } else {
      CHECK(it->second.value == pv.value);
    }
  }
  s.clear();
  s["x"] = {"number", std::numeric_limits<double>::quiet_NaN()};
  const auto nan = ca_pv::parse_soft_state(ca_pv::format_soft_state(s), "f");
  REQUIRE(nan.error.empty());
  CHECK(std::isnan(std::get<double>(nan.state.at("x").value)));
  s.clear();
  s["x"] = {"array", NumberArray(std::vector<double>{std::numeric_limits<double>::quiet_NaN(), 1})};
  const auto nan_array = ca_pv::parse_soft_state(ca_pv::format_soft_state(s), "f");
  REQUIRE(nan_array.error.empty());
  const auto elements = std::get<NumberArray>(nan_array.state.at("x").value).values();
  REQUIRE(elements.size() == 2);
  CHECK(std::isnan(elements[0]));
  CHECK(elements[1] == 1);
  CHECK(ca_pv::parse_soft_state(ca_pv::format_soft_state({}), "f").error.empty());
}

TEST_CASE("ca soft state: a damaged file is an error naming the file, never a throw", "[ca][soft_state]") {
  ca_pv::SoftState s;
  s["sp.target"] = {"number", 72.5};
  s["sp.note"] = {"text", std::string("hello")};
  const std::string good = ca_pv::format_soft_state(s);
  // Every truncation of a good file parses or is an error naming the file (never a throw).
  for (std::size_t n = 0; n < good.size(); ++n) {
    const auto p = ca_pv::parse_soft_state(good.substr(0, n), "/d/state.toml");
    if (!p.error.empty()) {
      CHECK(p.error.find("/d/state.toml") != std::string::npos);
      CHECK(p.state.empty());
    }
  }
  const auto check_bad = [](const std::string& text, const std::string& says) {
    INFO(text);
    const auto p = ca_pv::parse_soft_state(text, "/d/state.toml");
    CHECK(p.state.empty());
    CHECK(p.error.find("/d/state.toml") != std::string::npos);
    CHECK(p.error.find(says) != std::string::npos);
  };
  check_bad("", "version");
  check_bad(std::string("\0\0\0\xff garbage", 13), "/d/state.toml");
  check_bad("version = 2\n", "version 2 is not 1");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"number\"\nvalue = \"x\"\n", "value");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"number\"\n", "value");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"vector\"\nvalue = 1\n", "'vector' is not one of");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"array\"\nvalue = 1\n", "expected a list of numbers");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"array\"\nvalue = [1, \"x\"]\n", "value[1]");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"bool\"\nvalue = 1\n", "value");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"integer\"\nvalue = 1\n"
            "[[point]]\nname = \"a\"\ntype = \"integer\"\nvalue = 2\n",
            "appears twice");
  check_bad("version = 1\n[[point]]\nname = \"a\"\ntype = \"integer\"\nvalue = 1\nextra = 3\n", "extra");
  check_bad("version = 1\nwho = 3\n", "who");
}

TEST_CASE("ca soft state: value kinds per type", "[ca][soft_state]") {
  CHECK(ca_pv::fits_type("number", 1.5));
  CHECK_FALSE(ca_pv::fits_type("number", std::int64_t{1}));
  CHECK(ca_pv::fits_type("enum", std::int64_t{1}));
  CHECK(ca_pv::fits_type("text", std::string("x")));
  CHECK(ca_pv::fits_type("bool", true));
  CHECK_FALSE(ca_pv::fits_type("bool", std::string("x")));
  CHECK_FALSE(ca_pv::fits_type("array", 1.0));
  CHECK(ca_pv::fits_type("array", NumberArray(std::vector<double>{1.0})));
  CHECK_FALSE(ca_pv::fits_type("number", NumberArray(std::vector<double>{1.0})));
}

}  // namespace weft::apps
