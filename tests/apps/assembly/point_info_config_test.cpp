// The point-description keys (point_info_config.hpp) as gather's points and
// ca's soft points read them: every key into PointInfo, and each bad value
// refused at file:line with the key and what to write instead.
#include "weft/apps/assembly/point_info_config.hpp"

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;

namespace {

weft::PointInfo point_info(const std::string& toml, weft::apps::StateNames states = weft::apps::StateNames::up_to_16) {
  const weft::Config c = weft::Config::parse("[p]\n" + toml, "pi.toml");
  return weft::apps::read_point_info(*c.root().table("p"), states);
}

std::string point_info_error(const std::string& toml,
                             weft::apps::StateNames states = weft::apps::StateNames::up_to_16) {
  try {
    point_info(toml, states);
  } catch (const weft::ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for:\n" << toml);
  return {};
}

}  // namespace

TEST_CASE("point info: every key read", "[ca][config]") {
  const weft::PointInfo i = point_info(
      "unit = \"bar\"\nprecision = 2\ndescription = \"boiler pressure\"\ndisplay_low = 0\ndisplay_high = 10\n"
      "control_low = 1\ncontrol_high = 9\nlolo = 0.5\nlow = 1\nhigh = 8\nhihi = 9.5\nstates = [\"a\", \"b\", \"c\"]\n"
      "mdel = 0.1\nadel = 1\n");
  CHECK(i.unit == "bar");
  CHECK(i.precision == 2);
  CHECK(i.description == "boiler pressure");
  CHECK(i.display_low == 0.0);
  CHECK(i.display_high == 10.0);
  CHECK(i.control_low == 1.0);
  CHECK(i.control_high == 9.0);
  CHECK(i.lolo == 0.5);
  CHECK(i.low == 1.0);
  CHECK(i.high == 8.0);
  CHECK(i.hihi == 9.5);
  CHECK(i.states == std::vector<std::string>{"a", "b", "c"});
  CHECK(i.monitor_deadband == 0.1);
  CHECK(i.archive_deadband == 1.0);
  const weft::PointInfo none = point_info("");
  CHECK(none == weft::PointInfo{});
  CHECK(point_info("high = 3\n").hihi == std::nullopt);  // only what is given
}

TEST_CASE("point info: bad values are refused at file:line", "[ca][config]") {
  CHECK_THAT(point_info_error("display_low = 5\ndisplay_high = 5\n"),
             Contains("pi.toml:3") && Contains("display_high") && Contains("must be above display_low"));
  CHECK_THAT(point_info_error("control_low = 9\ncontrol_high = 1\n"), Contains("control_high") && Contains("swap"));
  CHECK_THAT(point_info_error("low = 5\nhigh = 4\n"),
             Contains("pi.toml:3") && Contains("high") && Contains("lolo <= low <= high <= hihi"));
  CHECK_THAT(point_info_error("lolo = 5\nhihi = 4\n"), Contains("hihi") && Contains("below lolo"));
  CHECK_THAT(point_info_error("description = \"" + std::string(40, 'x') + "\"\n"),
             Contains("description") && Contains("at most 39"));
  CHECK_THAT(point_info_error("states = [\"off\", \"on\", \"x\"]\n", weft::apps::StateNames::two),
             Contains("states") && Contains("a bool point has two states"));
  CHECK_THAT(point_info_error("states = [\"a\"]\n", weft::apps::StateNames::none),
             Contains("states") && Contains("only bool and integer points"));
  CHECK_THAT(point_info_error("states = []\n"), Contains("CA enums hold 1 to 16"));
  CHECK_THAT(point_info_error("states = [\"" + std::string(26, 'y') + "\"]\n"), Contains("25 characters"));
  CHECK_THAT(point_info_error("precision = 18\n"), Contains("precision"));
  CHECK_THAT(point_info_error("mdel = \"x\"\n"), Contains("mdel"));
}
