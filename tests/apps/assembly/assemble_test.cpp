// assemble() and `enabled = false`: a disabled service keeps its settings
// in the file, read and checked with the same rules as when it runs (an
// unknown key or a bad value is refused at file:line, its [restart] table
// and, for gather, the [[serial]]/[[instrument]] arrays included), but it is
// not assembled, and what it needs from the rest of the config to run (a
// [store], an enabled record) is not demanded while it is off.
#include "weft/apps/assembly/assemble.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

weft::apps::Assembly assemble(const std::string& toml) {
  return weft::apps::assemble(weft::Config::parse(toml, "box.toml"));
}

std::vector<std::string> names(const weft::apps::Assembly& a) {
  std::vector<std::string> out;
  for (const auto& s : a.services) out.push_back(s.spec.name);
  return out;
}

std::string assembly_error(const std::string& toml) {
  try {
    assemble(toml);
  } catch (const weft::ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for:\n" << toml);
  return {};
}

const std::string kTap = "[service.tap]\npattern = \"*\"\n";

const std::string kGather = R"(
[[serial]]
name = "bus"
path = "/dev/ttyUSB0"
[[instrument]]
name = "boiler"
port = "bus"
  [[instrument.point]]
  name = "t"
)";

}  // namespace

TEST_CASE("enabled = false: a disabled service's valid settings are accepted, and it is not assembled",
          "[assembly][config]") {
  const auto a = assemble(
      "[service.heartbeat]\nenabled = false\nperiod = \"2s\"\nprefix = \"box\"\n"
      "[service.heartbeat.restart]\nintensity = 3\n" +
      kTap);
  CHECK(names(a) == std::vector<std::string>{"tap"});

  // Switched on again: the same table, one line changed.
  const auto on = assemble("[service.heartbeat]\nenabled = true\nperiod = \"2s\"\nprefix = \"box\"\n"
                           "[service.heartbeat.restart]\nintensity = 3\n" +
                           kTap);
  CHECK(names(on) == std::vector<std::string>{"heartbeat", "tap"});

  // A bare `enabled = false` is still just off.
  CHECK(names(assemble("[service.heartbeat]\nenabled = false\n" + kTap)) == std::vector<std::string>{"tap"});
}

TEST_CASE("enabled = false: a typo or a bad value in a disabled service is refused at file:line",
          "[assembly][config]") {
  const std::string typo = assembly_error("[service.heartbeat]\nenabled = false\nperiod = \"2s\"\nperod = \"3s\"\n" + kTap);
  CHECK_THAT(typo, StartsWith("box.toml:4:1:"));
  CHECK_THAT(typo, Contains("'perod'"));

  const std::string bad = assembly_error("[service.heartbeat]\nenabled = false\nperiod = \"5\"\n" + kTap);
  CHECK_THAT(bad, StartsWith("box.toml:3:"));
  CHECK_THAT(bad, Contains("service.heartbeat.period") && Contains("\"5s\""));

  const std::string restart =
      assembly_error("[service.heartbeat]\nenabled = false\n[service.heartbeat.restart]\nintensty = 3\n" + kTap);
  CHECK_THAT(restart, StartsWith("box.toml:4:1:"));
  CHECK_THAT(restart, Contains("'intensty'"));
}

TEST_CASE("enabled = false: gather's [[serial]] and [[instrument]] stay checked while it is off",
          "[assembly][config][gather]") {
  CHECK(names(assemble("[service.gather]\nenabled = false\n" + kTap + kGather)) == std::vector<std::string>{"tap"});
  const std::string typo = assembly_error("[service.gather]\nenabled = false\n" + kTap + kGather + "  adress = 5\n");
  CHECK_THAT(typo, StartsWith("box.toml:14:"));
  CHECK_THAT(typo, Contains("'adress'"));
  const std::size_t instruments = kGather.find("[[instrument]]");
  const std::string quiet = assembly_error("[service.gather]\nenabled = false\n" + kTap + kGather.substr(0, instruments) +
                                     "max_quiet_wait = \"0s\"\n" + kGather.substr(instruments));
  CHECK_THAT(quiet, StartsWith("box.toml:9:"));
  CHECK_THAT(quiet, Contains("max_quiet_wait"));
}

TEST_CASE("enabled = false: a disabled service does not demand what it would need to run", "[assembly][config]") {
  // Record and upload off together on a box without a store: accepted, though
  // upload's table is complete and record's has its keys.
  const auto a = assemble(kTap +
                          "[service.record]\nenabled = false\ncapacity = 1000\n"
                          "[service.upload]\nenabled = false\nurl = \"mqtt://localhost:1883\"\n");
  CHECK(names(a) == std::vector<std::string>{"tap"});
  // The same tables switched on are refused for what is missing.
  const std::string no_store = assembly_error(kTap + "[service.record]\ncapacity = 1000\n");
  CHECK_THAT(no_store, Contains("service.record: there is no store to record into"));
  // Its settings are still checked while it is off.
  const std::string bad_url =
      assembly_error(kTap + "[service.upload]\nenabled = false\nurl = \"http://localhost\"\n");
  CHECK_THAT(bad_url, StartsWith("box.toml:5:"));
  CHECK_THAT(bad_url, Contains("service.upload.url"));
}

TEST_CASE("[weftd] watch_config: off by default, read as a boolean", "[assembly][config]") {
  CHECK_FALSE(assemble(kTap).watch_config);
  CHECK_FALSE(assemble("[weftd]\nwatch_config = false\n" + kTap).watch_config);
  CHECK(assemble("[weftd]\nwatch_config = true\n" + kTap).watch_config);
  CHECK_THAT(assembly_error("[weftd]\nwatch_config = \"yes\"\n" + kTap),
             StartsWith("box.toml:2:16:") && Contains("weftd.watch_config"));
}

TEST_CASE("[service.NAME] log_level: any service, checked like the rest, absent by default", "[assembly][config]") {
  const auto a = assemble("[service.heartbeat]\nlog_level = \"debug\"\n" + kTap);
  REQUIRE(names(a) == std::vector<std::string>{"heartbeat", "tap"});
  CHECK(a.services[0].log_level == "debug");
  CHECK(a.services[1].log_level.empty());  // the default level ([weftd] log_level)
  for (const char* level : {"trace", "info", "warn", "error", "critical", "off"})
    CHECK(assemble(kTap + "log_level = \"" + level + "\"\n").services[0].log_level == level);
  // An unknown level: file:line:col of the value, the key, every valid level.
  const std::string bad = assembly_error(kTap + "log_level = \"verbose\"\n");
  CHECK_THAT(bad, StartsWith("box.toml:3:13:") && Contains("service.tap.log_level") && Contains("unknown level 'verbose'") &&
                      Contains("trace, debug, info, warn, error, critical, off"));
  CHECK_THAT(assembly_error(kTap + "log_level = 3\n"), StartsWith("box.toml:3:13:") && Contains("service.tap.log_level"));
  // Checked while the service is off too, so switching it on is a one-line change.
  CHECK_THAT(assembly_error("[service.heartbeat]\nenabled = false\nlog_level = \"loud\"\n" + kTap),
             StartsWith("box.toml:3:13:") && Contains("unknown level 'loud'"));
  CHECK(names(assemble("[service.heartbeat]\nenabled = false\nlog_level = \"debug\"\n" + kTap)) ==
        std::vector<std::string>{"tap"});
}
