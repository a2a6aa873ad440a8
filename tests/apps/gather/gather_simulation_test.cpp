// gather under simulation on the virtual clock: 24 hours of 20 instruments
// on 4 buses finish in seconds, and every instrument's poll count is
// exactly what its period implies (drift-free schedules, nothing missed,
// nothing doubled); a flaky unit is quarantined and its errors counted
// without disturbing its neighbours on the same bus.
#include "weft/apps/gather/bus_poller.hpp"

#include <catch2/catch.hpp>

#include <sstream>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/runtime.hpp"

using namespace std::chrono_literals;

namespace {

const int kPeriodsS[] = {1, 2, 3, 5, 10};

std::string twenty_instruments(bool flaky_third) {
  std::ostringstream toml;
  toml << "[service.gather]\n";
  for (int bus = 0; bus < 4; ++bus)
    toml << "[[serial]]\nname = \"bus" << bus << "\"\npath = \"/dev/null-bus" << bus
         << "\"\nbaud = 19200\nparity = \"E\"\nresponse_timeout = \"100ms\"\nretries = 0\n";
  for (int i = 0; i < 20; ++i) {
    toml << "[[instrument]]\nname = \"i" << i << "\"\nport = \"bus" << i % 4 << "\"\nunit = " << i + 1
         << "\nperiod = \"" << kPeriodsS[i % 5] << "s\"\nquarantine_after = 3\nprobe_period = \"60s\"\n"
         << "[[instrument.point]]\nname = \"v\"\naddress = 10\ntype = \"float32\"\n"
         << "sim = { model = \"constant\", value = " << i << ".5 }\n";
    if (flaky_third && i == 2) toml << "[instrument.sim]\nno_answer = 1.0\n";
  }
  return toml.str();
}

struct GatherSimulationOutcome {
  weft::apps::GatherReport report;
  double last_value_of_i7 = 0;
};

GatherSimulationOutcome simulate(const std::string& toml, weft::Duration length) {
  GatherSimulationOutcome out;
  const weft::apps::RunMode mode{true, 7, &out.report};
  auto assembly = weft::apps::assemble(weft::Config::parse(toml, "sim.toml"), mode);
  assembly.options.virtual_time = true;
  assembly.options.handle_signals = false;
  weft::Runtime runtime(assembly.options);
  weft::apps::add_services(runtime, assembly);
  auto sub = runtime.bus().subscribe("i7.v", 1);
  runtime.stop_after(length);
  REQUIRE(runtime.run() == weft::kExitOk);
  auto r = sub.try_receive();
  REQUIRE(r);
  out.last_value_of_i7 = std::get<double>(r->value);
  return out;
}

}  // namespace

TEST_CASE("24 h of 20 simulated instruments: poll counts are exactly what the periods imply", "[gather][simulation]") {
  // Stop half a second before the 24 h mark so no poll sits on the boundary.
  const auto out = simulate(twenty_instruments(false), 24h - 500ms);
  REQUIRE(out.report.instruments.size() == 20);
  for (const auto& [name, c] : out.report.instruments) {
    const int index = std::stoi(name.substr(1));
    const std::uint64_t expected = 86400 / static_cast<std::uint64_t>(kPeriodsS[index % 5]);  // polls at 0, P, ... < 24h
    INFO(name);
    CHECK(c.polls == expected);
    CHECK(c.good_polls == expected);
    CHECK(c.readings == expected);
    CHECK(c.missed == 0);
    CHECK(c.timeouts == 0);
  }
  CHECK(out.last_value_of_i7 == Approx(7.5));
}

TEST_CASE("a unit that never answers is quarantined and does not disturb its bus", "[gather][simulation]") {
  const auto out = simulate(twenty_instruments(true), 1h - 500ms);
  for (const auto& [name, c] : out.report.instruments) {
    INFO(name);
    if (name == "i2") {
      // 3 failed polls at its 3 s period, then one probe a minute: 0, 3, 6 s, then 66, 126, ... < 3600 s.
      CHECK(c.good_polls == 0);
      CHECK(c.quarantines == 1);
      CHECK(c.timeouts == c.polls);
      CHECK(c.polls == 3 + (3600 - 6 - 1) / 60);
    } else {
      CHECK(c.good_polls == c.polls);
      CHECK(c.timeouts == 0);
    }
  }
}

TEST_CASE("a device that drops off the line is reopened and polled again", "[gather][simulation]") {
  const std::string toml = R"(
[service.gather]
[[serial]]
name = "bus"
path = "/dev/null-bus"
reopen_min = "250ms"
reopen_max = "1s"
[[instrument]]
name = "flaky"
port = "bus"
unit = 1
period = "1s"
quarantine_after = 1000
  [[instrument.point]]
  name = "v"
  address = 0
  sim = { model = "constant", value = 42 }
  [instrument.sim]
  disconnect = 0.02
)";
  weft::apps::GatherReport report;
  auto assembly = weft::apps::assemble(weft::Config::parse(toml, "disconnect.toml"), {true, 3, &report});
  assembly.options.virtual_time = true;
  assembly.options.handle_signals = false;
  weft::Runtime runtime(assembly.options);
  weft::apps::add_services(runtime, assembly);
  auto good = runtime.bus().subscribe("flaky.v", 1);
  runtime.stop_after(1h);
  REQUIRE(runtime.run() == weft::kExitOk);
  REQUIRE(report.instruments.size() == 1);
  const auto& c = report.instruments[0].second;
  // About 2 % of polls lose the device: each ends in a stream error (EOF),
  // then the port is reopened after reopen_min and polling goes on.
  CHECK(c.other_errors >= 20);
  CHECK(c.other_errors <= 150);
  CHECK(c.polls - (c.good_polls + c.other_errors) <= 1);  // at most the poll the stop cut off
  CHECK(c.good_polls > 3000);
  auto last = good.try_receive();
  REQUIRE(last);
  CHECK(std::get<double>(last->value) == Approx(42));
}
