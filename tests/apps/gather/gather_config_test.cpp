// gather's [[serial]] Modbus timing keys: max_quiet_wait (how long the
// master waits for a talking line to go quiet before it gives a poll up as
// line busy) reads into the port's master options, defaults to 1 s, and
// every bad value (zero, negative, over a minute, not longer than the
// silence a request waits for) is an error naming file:line:col, the key
// and what to write.
#include "weft/apps/gather/gather_config.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace std::chrono_literals;

namespace {

weft::apps::GatherConfig read(const std::string& toml) {
  const weft::Config config = weft::Config::parse(toml, "ports.toml");
  const auto root = config.root();
  return weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
}

std::string gather_config_error(const std::string& toml) {
  try {
    read(toml);
  } catch (const weft::ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for:\n" << toml);
  return {};
}

// One port (line 5 holds `extra`), one Modbus instrument on it.
std::string port_with(const std::string& extra, int baud = 19200) {
  return "[service.gather]\n[[serial]]\nname = \"bus\"\nbaud = " + std::to_string(baud) + "\n" + extra +
         "\npath = \"/dev/ttyUSB0\"\n"
         "[[instrument]]\nname = \"boiler\"\nport = \"bus\"\n  [[instrument.point]]\n  name = \"t\"\n";
}

}  // namespace

TEST_CASE("serial config: max_quiet_wait reads into the master options, 1 s by default", "[gather][config]") {
  CHECK(read(port_with("")).ports.at(0).master.max_quiet_wait == 1s);
  CHECK(read(port_with("max_quiet_wait = \"250ms\"")).ports.at(0).master.max_quiet_wait == 250ms);
  // The other timing keys beside it are unaffected.
  const auto port = read(port_with("max_quiet_wait = \"5s\"\nresponse_timeout = \"300ms\"")).ports.at(0);
  CHECK(port.master.max_quiet_wait == 5s);
  CHECK(port.master.response_timeout == 300ms);
}

TEST_CASE("serial config: a bad max_quiet_wait is refused at its file:line with what to write", "[gather][config]") {
  const std::string zero = gather_config_error(port_with("max_quiet_wait = \"0s\""));
  CHECK_THAT(zero, StartsWith("ports.toml:5:"));
  CHECK_THAT(zero, Contains("serial[0].max_quiet_wait: 0ns is out of range; expected a duration from 1ms to 1m"));

  const std::string negative = gather_config_error(port_with("max_quiet_wait = \"-1s\""));
  CHECK_THAT(negative, StartsWith("ports.toml:5:"));
  CHECK_THAT(negative, Contains("serial[0].max_quiet_wait: duration \"-1s\" is negative"));

  const std::string too_long = gather_config_error(port_with("max_quiet_wait = \"2m\""));
  CHECK_THAT(too_long, StartsWith("ports.toml:5:"));
  CHECK_THAT(too_long, Contains("serial[0].max_quiet_wait: 2m is out of range; expected a duration from 1ms to 1m"));

  const std::string no_unit = gather_config_error(port_with("max_quiet_wait = 1"));
  CHECK_THAT(no_unit, StartsWith("ports.toml:5:"));
  CHECK_THAT(no_unit, Contains("\"1s\""));

  // At 1200 baud 8E1 (11 bits a character) t3.5 is 32.083 ms: a 20 ms bound
  // could never see the line quiet after an answer.
  const std::string too_short = gather_config_error(port_with("parity = \"E\"\nmax_quiet_wait = \"20ms\"", 1200));
  CHECK_THAT(too_short, StartsWith("ports.toml:6:"));
  CHECK_THAT(too_short, Contains("serial[0].max_quiet_wait: 20.000 ms is not longer than the silence a request waits for "
                                 "(t3.5 32.083 ms at 1200 baud + pause_between_requests 0.000 ms)"));
  CHECK_THAT(too_short, Contains("use e.g. \"1s\""));
  // pause_between_requests adds to that silence.
  const std::string with_pause =
      gather_config_error(port_with("pause_between_requests = \"1s\"\nmax_quiet_wait = \"1s\"", 19200));
  CHECK_THAT(with_pause, StartsWith("ports.toml:6:"));
  CHECK_THAT(with_pause, Contains("+ pause_between_requests 1000.000 ms"));
  CHECK(read(port_with("pause_between_requests = \"1s\"\nmax_quiet_wait = \"2s\"")).ports.at(0).master.max_quiet_wait ==
        2s);
}

// Modbus RTU is binary (8 data bits); 5, 6 or 7 passed --check-config and
// the master threw std::invalid_argument at run time ("data bits must be 7
// or 8"). Now refused at the [[serial]]'s data_bits, naming the instrument.
TEST_CASE("serial config: a Modbus port with fewer than 8 data bits is refused at its file:line", "[gather][config]") {
  for (const char* bits : {"5", "6", "7"}) {
    const std::string error = gather_config_error(port_with(std::string("data_bits = ") + bits));
    INFO(error);
    CHECK_THAT(error, StartsWith("ports.toml:5:"));
    CHECK_THAT(error, Contains(std::string("serial[0].data_bits: is ") + bits + ", but port 'bus' carries the "
                                                                               "Modbus instrument 'boiler' (ports.toml:"));
    CHECK_THAT(error, Contains("Modbus RTU needs 8 data bits: set data_bits = 8"));
  }
  CHECK(read(port_with("data_bits = 8")).ports.at(0).settings.data_bits == 8);
  // An ascii instrument on 7 data bits is fine.
  const auto ascii = read("[service.gather]\n[[serial]]\nname = \"scale\"\ndata_bits = 7\npath = \"/dev/ttyUSB1\"\n"
                          "[[instrument]]\nname = \"w\"\nport = \"scale\"\nprotocol = \"ascii\"\nformat = \"kv\"\n"
                          "  [[instrument.point]]\n  name = \"g\"\n  key = \"G\"\n");
  CHECK(ascii.ports.at(0).settings.data_bits == 7);
}
