// Tests of weft::Config: typed reads, durations, and the exact wording and location
// of every kind of error. config.hpp is included first to prove it is self-contained
// (it must compile without toml++ or anything else included before it).
#include "weft/core/config.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <unistd.h>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace std::chrono_literals;

namespace {

// The message of the ConfigError that `action` throws; fails the test if none is thrown.
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const weft::ConfigError& error) {
    return error.what();
  }
  FAIL("expected a ConfigError");
  return {};
}

weft::Duration duration_of(const std::string& text) {
  return weft::Config::parse("d = \"" + text + "\"\n", "d.toml").root().duration("d", 0s);
}

std::string duration_error(const std::string& text) {
  return error_of([&] { duration_of(text); });
}

}  // namespace

TEST_CASE("config reads every type and falls back for missing keys", "[config]") {
  const auto config = weft::Config::parse(R"(name = "press-7"
port = 8080
ratio = 0.75
whole = 3
enabled = true
period = "250ms"
tags = ["north", "line-2"]

[service.heartbeat]
period = "5s"
)",
                                          "file.toml");
  const auto root = config.root();
  CHECK(config.source_name() == "file.toml");
  CHECK(root.path().empty());
  CHECK(root.string("name", "x") == "press-7");
  CHECK(root.required_string("name") == "press-7");
  CHECK(root.integer("port", 0) == 8080);
  CHECK(root.number("ratio", 0.0) == 0.75);
  CHECK(root.number("whole", 0.0) == 3.0);
  CHECK(root.boolean("enabled", false));
  CHECK(root.duration("period", 0s) == 250ms);
  CHECK(root.string_array("tags") == std::vector<std::string>{"north", "line-2"});

  CHECK(root.string("missing", "fallback") == "fallback");
  CHECK(root.integer("missing", 42) == 42);
  CHECK(root.number("missing", 1.5) == 1.5);
  CHECK_FALSE(root.boolean("missing", false));
  CHECK(root.duration("missing", 7s) == 7s);
  CHECK(root.string_array("missing").empty());
  CHECK_FALSE(root.table("missing").has_value());
  CHECK(root.tables("missing").empty());
  CHECK(root.has("port"));
  CHECK_FALSE(root.has("missing"));

  const auto service = root.table("service");
  REQUIRE(service.has_value());
  CHECK(service->path() == "service");
  const auto heartbeat = service->table("heartbeat");
  REQUIRE(heartbeat.has_value());
  CHECK(heartbeat->path() == "service.heartbeat");
  CHECK(heartbeat->duration("period", 0s) == 5s);
}

TEST_CASE("keys() lists a table's keys in file order", "[config]") {
  const auto config = weft::Config::parse("zeta = 1\nalpha = 2\nmid.x = 3\n[later]\n[early]\n", "k.toml");
  CHECK(config.root().keys() == std::vector<std::string>{"zeta", "alpha", "mid", "later", "early"});
}

TEST_CASE("a value of the wrong type names file:line:col, the full key and the expected type", "[config]") {
  const auto config = weft::Config::parse("[server]\nhost = \"plc\"\nport = \"80\"\nflag = 1\n", "file.toml");
  const auto server = *config.root().table("server");

  CHECK(error_of([&] { server.integer("port", 0); }) ==
        "file.toml:3:8: server.port: expected an integer, got string \"80\". "
        "Write a whole number, e.g. port = 10.");
  const auto as_bool = error_of([&] { server.boolean("flag", false); });
  CHECK_THAT(as_bool, StartsWith("file.toml:4:8: server.flag: expected true or false, got integer 1"));
  const auto as_string = error_of([&] { server.string("flag", ""); });
  CHECK_THAT(as_string, StartsWith("file.toml:4:8: server.flag: expected a string, got integer 1"));
  const auto as_table = error_of([&] { server.table("host"); });
  CHECK_THAT(as_table, StartsWith("file.toml:2:8: server.host: expected a table, got string \"plc\""));
  const auto as_number = error_of([&] { server.number("host", 0.0); });
  CHECK_THAT(as_number, StartsWith("file.toml:2:8: server.host: expected a number"));
}

TEST_CASE("string_array locates a bad element", "[config]") {
  const auto config = weft::Config::parse("tags = [\"a\",\n  7]\nnot_list = \"a\"\n", "arr.toml");
  CHECK_THAT(error_of([&] { config.root().string_array("tags"); }),
             StartsWith("arr.toml:2:3: tags[1]: expected a string, got integer 7"));
  CHECK_THAT(error_of([&] { config.root().string_array("not_list"); }),
             StartsWith("arr.toml:3:12: not_list: expected a list of strings, got string \"a\""));
}

TEST_CASE("required_string reports a missing key at its table", "[config]") {
  const auto config = weft::Config::parse("top = 1\n\n[device]\nmodel = \"x\"\n", "req.toml");
  const auto device = *config.root().table("device");
  CHECK(error_of([&] { device.required_string("address"); }) ==
        "req.toml:3:1: device.address: is required but missing. Add address = \"...\" to [device].");
}

TEST_CASE("reject_unknown_keys names the first unread key, its line and the keys that were read", "[config]") {
  const auto config = weft::Config::parse(R"(# demo
name = "demo"

[service]
kind = "ticker"

[service.heartbeat]
period = "5s"
points = ["a"]
# a comment

perod = "10s"
)",
                                          "demo.toml");
  const auto root = config.root();
  const auto service = *root.table("service");
  const auto heartbeat = *service.table("heartbeat");
  heartbeat.duration("period", 0s);
  heartbeat.string_array("points");

  CHECK(error_of([&] { heartbeat.reject_unknown_keys(); }) ==
        "demo.toml:12:1: unknown key 'perod' in [service.heartbeat]; known keys here are: period, points. "
        "Check the spelling.");

  SECTION("sub-tables taken with table() count as read and are not checked by the parent") {
    service.string("kind", "");
    CHECK_NOTHROW(service.reject_unknown_keys());
  }
  SECTION("another section for the same table shares the record of read keys") {
    const auto again = *root.table("service")->table("heartbeat");
    again.string("perod", "");
    CHECK_NOTHROW(heartbeat.reject_unknown_keys());
  }
  SECTION("at the top level, an untouched table is an unknown key") {
    const auto fresh = weft::Config::parse("name = \"x\"\n[extra]\na = 1\n", "top.toml");
    fresh.root().string("name", "");
    CHECK(error_of([&] { fresh.root().reject_unknown_keys(); }) ==
          "top.toml:2:2: unknown key 'extra' in the top level; known keys here are: name. Check the spelling.");
  }
  SECTION("a table nobody reads from says so") {
    const auto idle = *weft::Config::parse("[idle]\nx = 1\n", "idle.toml").root().table("idle");
    CHECK(error_of([&] { idle.reject_unknown_keys(); }) ==
          "idle.toml:2:1: unknown key 'x' in [idle]; nothing is read from this table. Remove the key.");
  }
}

TEST_CASE("durations parse exactly", "[config][duration]") {
  CHECK(duration_of("250ms") == 250ms);
  CHECK(duration_of("1.5s") == 1500ms);
  CHECK(duration_of("2h") == 2h);
  CHECK(duration_of("10m") == 10min);
  CHECK(duration_of("1d") == 24h);
  CHECK(duration_of("0.25m") == 15s);
  CHECK(duration_of("1.000000001s") == 1'000'000'001ns);
  CHECK(duration_of("3us") == 3us);
  CHECK(duration_of("7ns") == 7ns);
  CHECK(duration_of("0s") == 0s);
  CHECK(duration_of("1.50s") == 1500ms);
  CHECK(duration_of("9223372036854775807ns") == weft::Duration::max());
}

TEST_CASE("bad durations are rejected with a way to fix them", "[config][duration]") {
  const auto bare = error_of([] { weft::Config::parse("a = 1\nd = 5\n", "d.toml").root().duration("d", 0s); });
  CHECK(bare ==
        "d.toml:2:5: d: expected a duration with a unit, got integer 5. "
        "Write e.g. d = \"5s\" (units: ns, us, ms, s, m, h, d).");

  CHECK(duration_error("5") ==
        "d.toml:1:5: d: duration \"5\" has no unit; write e.g. \"5s\" (units: ns, us, ms, s, m, h, d).");
  CHECK_THAT(duration_error("-1s"), Contains("\"-1s\" is negative"));
  CHECK(duration_error("3 parsecs") == "d.toml:1:5: d: duration \"3 parsecs\" has an unknown unit 'parsecs'; "
                                      "write e.g. \"3s\" (units: ns, us, ms, s, m, h, d).");
  CHECK_THAT(duration_error(""), Contains("\"\" is empty"));
  CHECK_THAT(duration_error("s"), Contains("does not start with a number"));
  CHECK_THAT(duration_error("1.s"), Contains("no digits after the decimal point"));
  CHECK_THAT(duration_error("1.5ns"), Contains("finer than 1ns"));
  CHECK_THAT(duration_error("0.0000000001s"), Contains("finer than 1ns"));
  CHECK_THAT(duration_error("106752d"), Contains("too large"));
  CHECK_THAT(duration_error("99999999999999999999s"), Contains("too large"));
  CHECK_THAT(duration_error("9223372036854775808ns"), Contains("too large"));
  CHECK_THAT(duration_error("5S"), Contains("unknown unit 'S'"));
}

TEST_CASE("duration range limits", "[config][duration]") {
  const auto root = weft::Config::parse("fast = \"10ms\"\nslow = \"2h\"\n", "r.toml").root();
  CHECK(root.duration("fast", 0s, 10ms, 1h) == 10ms);
  CHECK(error_of([&] { root.duration("fast", 0s, 1s, 1h); }) ==
        "r.toml:1:8: fast: 10ms is out of range; expected a duration from 1s to 1h.");
  CHECK(error_of([&] { root.duration("slow", 0s, 0s, 90s); }) ==
        "r.toml:2:8: slow: 2h is out of range; expected a duration of at most 90s.");
  CHECK(error_of([&] { root.duration("fast", 0s, 1s); }) ==
        "r.toml:1:8: fast: 10ms is out of range; expected a duration of at least 1s.");
}

TEST_CASE("integer range limits are inclusive and explained", "[config]") {
  const auto root = weft::Config::parse("port = 70000\nzero = 0\nlow = 1\n", "i.toml").root();
  CHECK(root.integer("low", 0, 1, 65535) == 1);
  CHECK(root.integer("port", 0, 1, 70000) == 70000);
  CHECK(error_of([&] { root.integer("port", 0, 1, 65535); }) ==
        "i.toml:1:8: port: 70000 is out of range; expected an integer from 1 to 65535.");
  CHECK(error_of([&] { root.integer("zero", 5, 1); }) ==
        "i.toml:2:8: zero: 0 is out of range; expected an integer of at least 1.");
  CHECK(error_of([&] { root.integer("port", 5, INT64_MIN, 100); }) ==
        "i.toml:1:8: port: 70000 is out of range; expected an integer of at most 100.");
  CHECK(root.integer("missing", 99999, 1, 10) == 99999);  // a fallback is the caller's choice
}

TEST_CASE("tables() reads [[arrays]] and keeps each element's location", "[config]") {
  const auto config = weft::Config::parse(R"(title = "cell"

[[instrument]]
name = "scale"

[[instrument]]
name = "pump"
rate = "fast"
colour = "red"
)",
                                          "inst.toml");
  const auto instruments = config.root().tables("instrument");
  REQUIRE(instruments.size() == 2);
  CHECK(instruments[0].path() == "instrument[0]");
  CHECK(instruments[1].path() == "instrument[1]");
  CHECK(instruments[0].string("name", "") == "scale");
  CHECK(instruments[1].string("name", "") == "pump");
  CHECK(instruments[0].where("name") == "inst.toml:4:8");
  CHECK(instruments[1].where("name") == "inst.toml:7:8");
  CHECK(instruments[1].where("absent") == "inst.toml:6:1");
  CHECK(error_of([&] { instruments[1].duration("rate", 1s); }) ==
        "inst.toml:8:8: instrument[1].rate: duration \"fast\" does not start with a number. "
        "Write a number and a unit, e.g. \"250ms\" or \"1.5s\" (units: ns, us, ms, s, m, h, d).");
  CHECK_NOTHROW(instruments[0].reject_unknown_keys());
  CHECK(error_of([&] { instruments[1].reject_unknown_keys(); }) ==
        "inst.toml:9:1: unknown key 'colour' in [[instrument]] #2; known keys here are: name, rate. "
        "Check the spelling.");

  const auto single = weft::Config::parse("[instrument]\nname = \"x\"\n", "one.toml");
  CHECK(error_of([&] { single.root().tables("instrument"); }) ==
        "one.toml:1:1: instrument: expected an array of tables, got a table. Start each entry with [[instrument]].");
}

TEST_CASE("fail() locates the message at the key, or at the table when the key is absent", "[config]") {
  const auto config = weft::Config::parse("[bus]\n\nmode  = \"udp\"\n", "file.toml");
  const auto bus = *config.root().table("bus");
  CHECK(bus.where("mode") == "file.toml:3:9");
  CHECK(error_of([&] { bus.fail("mode", "must be \"tcp\" or \"rtu\""); }) ==
        "file.toml:3:9: bus.mode: must be \"tcp\" or \"rtu\"");
  CHECK(error_of([&] { bus.fail("port", "is needed when mode is \"tcp\""); }) ==
        "file.toml:1:1: bus.port: is needed when mode is \"tcp\"");
  CHECK(error_of([&] { config.root().fail("odd key", "x"); }) == "file.toml:1:1: \"odd key\": x");
}

TEST_CASE("a TOML syntax error reports line and column", "[config]") {
  CHECK_THAT(error_of([] { weft::Config::parse("a = 1\nb = = 2\n", "bad.toml"); }),
             StartsWith("bad.toml:2:5: ") && Contains("parsing"));
  CHECK_THAT(error_of([] { weft::Config::parse("a = 1\na = 2\n", "dup.toml"); }),
             StartsWith("dup.toml:2:") && Contains("'a'"));
}

TEST_CASE("load_file reads a file and reports unreadable paths with the errno text", "[config]") {
  const auto dir = std::filesystem::temp_directory_path() / ("weft_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "good.toml";
  std::ofstream(file) << "[service]\nperiod = \"1.5s\"\n";

  const auto config = weft::Config::load_file(file);
  CHECK(config.source_name() == file.string());
  CHECK(config.root().table("service")->duration("period", 0s) == 1500ms);
  CHECK(config.root().table("service")->where("period") == file.string() + ":2:10");

  const auto missing = dir / "missing.toml";
  CHECK(error_of([&] { weft::Config::load_file(missing); }) ==
        missing.string() + ": cannot read config file: No such file or directory. Check the path and its permissions.");
  CHECK_THAT(error_of([&] { weft::Config::load_file(dir); }), Contains("Is a directory"));

  std::ofstream(file) << "x = [1,\n";
  CHECK_THAT(error_of([&] { weft::Config::load_file(file); }), StartsWith(file.string() + ":"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("sections keep the document alive and Config moves cheaply", "[config]") {
  std::optional<weft::ConfigSection> section;
  {
    auto config = weft::Config::parse("[a]\nb = 3\n", "life.toml");
    auto moved = std::move(config);
    section = moved.root().table("a");
  }
  REQUIRE(section.has_value());
  CHECK(section->integer("b", 0) == 3);
  CHECK(section->where("b") == "life.toml:2:5");
}

TEST_CASE("effective_values: what every getter returned, defaults applied, as TOML text", "[config]") {
  const auto config = weft::Config::parse(R"(name = "a \"b\""
count = 7
ratio = 2
on = true
period = "1000ms"
tags = ["x", "y"]
)",
                                          "e.toml");
  const auto root = config.root();
  root.string("name", "");
  root.integer("count", 0);
  root.number("ratio", 0);
  root.boolean("on", false);
  root.duration("period", 0s);
  root.string_array("tags");
  // Absent keys: the fallback is what the reader got, so it is what counts.
  root.string("mode", "auto");
  root.duration("grace", 5s);
  root.integer("retries", 3);
  const std::map<std::string, std::string> want{
      {"name", R"("a \"b\"")"}, {"count", "7"},         {"ratio", "2"},      {"on", "true"},
      {"period", "\"1s\""},     {"tags", R"(["x", "y"])"}, {"mode", "\"auto\""}, {"grace", "\"5s\""},
      {"retries", "3"}};
  CHECK(root.effective_values() == want);
  // Another view of the same table sees the same record; the document is reachable from it.
  CHECK(config.root().effective_values() == want);
  CHECK(root.document().root().effective_values() == want);
  CHECK(root.source_name() == "e.toml");
  // A key nobody read is not there; a failed read records nothing.
  const auto other = weft::Config::parse("n = \"text\"\n", "o.toml").root();
  CHECK_THROWS_AS(other.integer("n", 1), weft::ConfigError);
  CHECK(other.effective_values().empty());
}
