// `[weftd] device`, the box's name: the host name when left out, refused
// when empty (at file:line, by assemble() too, so --check-config catches it),
// and the default of upload's `device` (and of its client ID); ca's default
// is tested against pyepics (tests/integration/ca_deadband.sh names the box
// only in [weftd]).
#include "weft/apps/assembly/device_name.hpp"

#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/upload/upload_config.hpp"

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;

TEST_CASE("the box name is [weftd] device, the host name by default", "[config]") {
  const weft::Config none = weft::Config::parse("[weftd]\nlog_level = \"info\"\n", "dn.toml");
  CHECK(weft::apps::box_device(none.root()) == weft::apps::host_name());
  CHECK(weft::apps::box_device(weft::Config::parse("", "dn.toml").root()) == weft::apps::host_name());
  CHECK_FALSE(weft::apps::host_name().empty());
  const weft::Config named = weft::Config::parse("[weftd]\ndevice = \"box9\"\n", "dn.toml");
  CHECK(weft::apps::box_device(named.root()) == "box9");

  try {
    weft::apps::assemble(weft::Config::parse("[weftd]\ndevice = \"\"\n", "dn.toml"));
    FAIL("an empty [weftd] device must be refused");
  } catch (const weft::ConfigError& e) {
    CHECK_THAT(std::string(e.what()), Contains("dn.toml:2") && Contains("device") && Contains("must not be empty"));
  }
}

TEST_CASE("upload's device defaults to [weftd] device", "[config][upload]") {
  const weft::Config c = weft::Config::parse(
      "[weftd]\ndevice = \"box9\"\n[service.upload]\nurl = \"mqtt://127.0.0.1:18830\"\n", "dn.toml");
  const auto upload = weft::apps::read_upload_settings(*c.root().table("service")->table("upload"));
  CHECK(upload.device == "box9");
  CHECK(upload.client.client_id == "weft-box9");
  const weft::Config own = weft::Config::parse(
      "[weftd]\ndevice = \"box9\"\n[service.upload]\nurl = \"mqtt://127.0.0.1:18830\"\ndevice = \"other\"\n", "dn.toml");
  CHECK(weft::apps::read_upload_settings(*own.root().table("service")->table("upload")).device == "other");
}
