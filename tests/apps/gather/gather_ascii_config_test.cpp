// gather's configuration of ASCII line instruments: a good config reads
// into the framing, parse spec and simulated twin it describes; every
// mistake is an error naming file:line, the key and what to write instead
// (a port mixing protocols, two ASCII instruments on one port, Modbus keys
// on an ASCII instrument and back, a format's keys on another format).
#include "weft/apps/gather/gather_config.hpp"

#include <catch2/catch.hpp>

#include <regex>

using Catch::Matchers::Contains;
using Catch::Matchers::Matches;
using Catch::Matchers::StartsWith;

namespace {

weft::apps::GatherConfig read_gather(const std::string& toml) {
  const weft::Config config = weft::Config::parse(toml, "ascii.toml");
  const auto root = config.root();
  return weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
}

std::string gather_error_of(const std::string& toml) {
  try {
    read_gather(toml);
  } catch (const weft::ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for:\n" << toml);
  return {};
}

const std::string kHead = R"([service.gather]
[[serial]]
name = "met"
path = "/dev/ttyUSB3"
[[serial]]
name = "bus"
path = "/dev/ttyUSB0"
)";

// An ascii instrument on port `port`, kv, one point; `extra` goes into the instrument table.
std::string weather(const std::string& name, const std::string& port, const std::string& extra = "",
                    const std::string& point_extra = "") {
  return "[[instrument]]\nname = \"" + name + "\"\nport = \"" + port +
         "\"\nprotocol = \"ascii\"\nformat = \"kv\"\n" + extra + "\n  [[instrument.point]]\n  name = \"t\"\n  key = \"T\"\n" +
         point_extra + "\n";
}

const std::string kModbus = R"([[instrument]]
name = "boiler"
port = "bus"
unit = 3
  [[instrument.point]]
  name = "temperature"
  address = 100
)";

}  // namespace

TEST_CASE("ascii config: a kv instrument reads into framing, spec and sim twin", "[ascii][config]") {
  const auto config = read_gather(kHead + weather("weather", "met",
                                           "terminator = \"\\r\\n\"\nmax_line = 80\nperiod = \"2s\"\n"
                                           "request = \"R\\r\\n\"\npair_separator = \",\"\n"
                                           "[instrument.sim]\ngarbage = 0.1\ntruncated = 0.05\n",
                                           "  type = \"integer\"\n  sim = { model = \"constant\", value = 7 }\n") +
                           kModbus);
  REQUIRE(config.instruments.size() == 2);
  const auto& i = config.instruments[0];
  CHECK(i.protocol == weft::apps::Protocol::ascii);
  CHECK(i.ascii.framing.terminator == "\r\n");
  CHECK(i.ascii.framing.max_line == 80);
  CHECK(i.ascii.stale_after == std::chrono::seconds(6));  // 3 x period by default
  CHECK(i.ascii.request == "R\r\n");
  REQUIRE(i.ascii.spec);
  const auto parsed = i.ascii.spec->parse("X=1, T=12");
  REQUIRE(parsed.ok());
  CHECK(parsed.values.at(0).name == "t");
  CHECK(std::get<std::int64_t>(parsed.values.at(0).value) == 12);
  CHECK(config.instruments[1].protocol == weft::apps::Protocol::modbus_rtu);

  CHECK(weft::apps::ascii_instrument(config, "met") == &i);
  CHECK(weft::apps::ascii_instrument(config, "bus") == nullptr);
  CHECK(weft::apps::simulated_units(config, "met").empty());
  const auto twin = weft::apps::simulated_ascii_device(i);
  CHECK(twin.format.pair_separator == ',');
  CHECK(twin.faults.garbage == Approx(0.1));
  CHECK(twin.faults.truncated == Approx(0.05));
  CHECK(twin.period == std::chrono::seconds(2));
  REQUIRE(twin.format.fields.size() == 1);
  CHECK(twin.format.fields[0].key == "T");
}

TEST_CASE("ascii config: nmea defaults to CRLF and strips a leading '$'", "[ascii][config]") {
  const auto config = read_gather(kHead + R"([[instrument]]
name = "gps"
port = "met"
protocol = "ascii"
format = "nmea"
stale_after = "5s"
  [[instrument.point]]
  name = "lat"
  sentence = "$GPGGA"
  field = 2
)");
  const auto& i = config.instruments[0];
  CHECK(i.ascii.framing.terminator == "\r\n");
  CHECK(i.points[0].sentence == "GPGGA");
  CHECK(i.ascii.stale_after == std::chrono::seconds(5));
  CHECK(i.ascii.spec->parse("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47").ok());
}

TEST_CASE("ascii config: mistakes are errors with file:line, key and a fix", "[ascii][config]") {
  SECTION("a port mixing protocols") {
    const auto e = gather_error_of(kHead + kModbus + weather("weather", "bus"));
    CHECK_THAT(e, Matches("ascii\\.toml:1[0-9]:[0-9]+: .*", Catch::CaseSensitive::Yes));
    CHECK_THAT(e, Contains("instrument[1].protocol") && Contains("already carries the modbus instrument 'boiler'") &&
                      Contains("a port speaks one protocol") && Contains("own [[serial]]"));
  }
  SECTION("two ascii instruments on one port") {
    const auto e = gather_error_of(kHead + weather("a", "met") + weather("b", "met"));
    CHECK_THAT(e, Matches("ascii\\.toml:2[0-9]:[0-9]+: .*"));
    CHECK_THAT(e, Contains("instrument[1].port") && Contains("already carries the ascii instrument 'a'") &&
                      Contains("(ascii.toml:8:1)") && Contains("an ascii port carries one instrument"));
  }
  SECTION("an unknown protocol") {
    auto toml = kHead + weather("w", "met");
    toml.replace(toml.find("\"ascii\""), 7, "\"ascci\"");
    CHECK_THAT(gather_error_of(toml), Matches("ascii\\.toml:11:12: instrument\\[0\\]\\.protocol: unknown protocol 'ascci'; use modbus .* or ascii .*"));
  }
  SECTION("an unknown format") {
    auto toml = kHead + weather("w", "met");
    toml.replace(toml.find("\"kv\""), 4, "\"json\"");
    CHECK_THAT(gather_error_of(toml), StartsWith("ascii.toml:12:10: ") && Contains("unknown format 'json'; use kv"));
  }
  SECTION("a missing format") {
    auto toml = kHead + weather("w", "met");
    toml.erase(toml.find("format = \"kv\""), 13);
    CHECK_THAT(gather_error_of(toml), Contains("ascii.toml:8:") && Contains("format") && Contains("is required"));
  }
  SECTION("a Modbus key on an ascii instrument") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "unit = 3")),
               StartsWith("ascii.toml:13:8: ") && Contains("unit") && Contains("is a Modbus key"));
  }
  SECTION("a Modbus key on an ascii point") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "", "  address = 4\n")),
               StartsWith("ascii.toml:17:13: ") && Contains("instrument[0].point[0].address") && Contains("is a Modbus key") &&
                   Contains("key = \"T\""));
  }
  SECTION("an ascii key on a Modbus instrument") {
    auto toml = kHead + kModbus;
    toml.insert(toml.find("unit = 3"), "format = \"kv\"\n");
    CHECK_THAT(gather_error_of(toml), StartsWith("ascii.toml:11:10: ") && Contains("add protocol = \"ascii\""));
  }
  SECTION("a csv point without its column") {
    auto toml = kHead + weather("w", "met");
    toml.replace(toml.find("\"kv\""), 4, "\"csv\"");
    toml.erase(toml.find("  key = \"T\"\n"), 12);
    CHECK_THAT(gather_error_of(toml), StartsWith("ascii.toml:14:") && Contains("add column = N"));
  }
  SECTION("a key of another format") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "delimiter = \";\"")),
               StartsWith("ascii.toml:13:13: ") && Contains("delimiter") && Contains("does not apply to format = \"kv\""));
  }
  SECTION("a bad separator") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "kv_separator = \"-\"")),
               StartsWith("ascii.toml:13:16: ") && Contains("use \"=\" or \":\""));
  }
  SECTION("a terminator the framer cannot use") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "terminator = \"\\r\\n\\r\\n\\r\"")),
               StartsWith("ascii.toml:13:14: ") && Contains("instrument[0].terminator") && Contains("use e.g."));
  }
  SECTION("an empty request") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "request = \"\"")),
               StartsWith("ascii.toml:13:11: ") && Contains("remove the key if the instrument streams"));
  }
  SECTION("a checksum fault on a format without checksums") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "[instrument.sim]\nbad_checksum = 0.1")),
               StartsWith("ascii.toml:14:16: ") && Contains("only NMEA sentences carry a checksum"));
  }
  SECTION("a Modbus fault on an ascii instrument") {
    CHECK_THAT(gather_error_of(kHead + weather("w", "met", "[instrument.sim]\nbad_crc = 0.1")),
               StartsWith("ascii.toml:14:11: ") && Contains("bad_checksum"));
  }
  SECTION("two points read from the same key") {
    auto toml = kHead + weather("w", "met") + "  [[instrument.point]]\n  name = \"t2\"\n  key = \"T\"\n";
    CHECK_THAT(gather_error_of(toml), StartsWith("ascii.toml:1") && Contains("is declared twice") &&
                                   Contains("fix the [[instrument.point]] tables of 'w'"));
  }
}
