// gather under --simulate with ASCII line instruments beside a Modbus one,
// an hour on the virtual clock: every line the simulated instruments send
// is accounted for (good + bad + ignored = lines), the seeded faults show
// up in the counters they belong to (over-long, bad checksum, disconnects
// as stream errors), a polled instrument is asked exactly once a period,
// a silent one goes stale once, and the Modbus neighbour is undisturbed.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/gather/port_owner.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/runtime.hpp"

using namespace std::chrono_literals;

namespace {

const char* const kAsciiPlant = R"(
[service.gather]
[[serial]]
name = "met"
path = "/dev/null-met"
reopen_min = "500ms"
[[serial]]
name = "nav"
path = "/dev/null-nav"
[[serial]]
name = "lab"
path = "/dev/null-lab"
[[serial]]
name = "quiet"
path = "/dev/null-quiet"
[[serial]]
name = "bus"
path = "/dev/null-bus"

[[instrument]]
name = "weather"
port = "met"
protocol = "ascii"
format = "kv"
period = "1s"
max_line = 64
  [[instrument.point]]
  name = "temperature"
  key = "T"
  sim = { model = "constant", value = 21.5 }
  [[instrument.point]]
  name = "wind"
  key = "W"
  sim = { model = "random-walk", min = 0, max = 30, step = 0.5 }
  [instrument.sim]
  garbage = 0.02
  overlong = 0.01
  truncated = 0.01
  no_answer = 0.01
  disconnect = 0.002

[[instrument]]
name = "gps"
port = "nav"
protocol = "ascii"
format = "nmea"
period = "1s"
  [[instrument.point]]
  name = "lat"
  sentence = "GGA"
  field = 2
  sim = { model = "constant", value = 4807.038 }
  [[instrument.point]]
  name = "speed"
  sentence = "RMC"
  field = 7
  sim = { model = "sine", min = 0, max = 20, period = "10m" }
  [instrument.sim]
  bad_checksum = 0.05

[[instrument]]
name = "meter"
port = "lab"
protocol = "ascii"
format = "csv"
period = "2s"
request = "MEAS?\r\n"
  [[instrument.point]]
  name = "volts"
  column = 0
  sim = { model = "constant", value = 230.1 }
  [instrument.sim]
  response_delay = "300ms"

[[instrument]]
name = "mute"
port = "quiet"
protocol = "ascii"
format = "kv"
period = "1s"
  [[instrument.point]]
  name = "v"
  [instrument.sim]
  no_answer = 1.0

[[instrument]]
name = "boiler"
port = "bus"
unit = 3
  [[instrument.point]]
  name = "temperature"
  address = 100
  sim = { model = "constant", value = 70 }
)";

}  // namespace

TEST_CASE("simulated gather: an hour of ASCII instruments beside a Modbus one", "[ascii][gather][simulation]") {
  weft::apps::GatherReport report;
  auto assembly = weft::apps::assemble(weft::Config::parse(kAsciiPlant, "plant.toml"), {true, 5, &report});
  assembly.options.virtual_time = true;
  assembly.options.handle_signals = false;
  weft::Runtime runtime(assembly.options);
  weft::apps::add_services(runtime, assembly);
  auto temperature = runtime.bus().subscribe("weather.temperature", 1);
  auto volts = runtime.bus().subscribe("meter.volts", 1);
  auto mute = runtime.bus().subscribe("mute.*", 100);
  runtime.stop_after(1h - 500ms);
  REQUIRE(runtime.run() == weft::kExitOk);

  std::map<std::string, weft::apps::InstrumentCounters> c;
  for (const auto& [name, counters] : report.instruments) c[name] = counters;
  REQUIRE(c.size() == 5);

  const auto& w = c["weather"];
  INFO("weather: lines " << w.polls << " good " << w.good_polls << " bad " << w.bad_lines << " overlong " << w.overlong
                         << " other " << w.other_errors << " stale " << w.timeouts);
  CHECK(w.good_polls + w.bad_lines + w.ignored == w.polls);
  CHECK(w.polls > 3400);
  CHECK(w.good_polls > 3200);
  CHECK(w.overlong >= 10);
  CHECK(w.bad_lines >= 60);       // garbage (2 %), over-long (1 %), truncated ones run into the next (1 %)
  CHECK(w.other_errors > w.bad_lines);  // the disconnects, as stream errors
  CHECK(w.crc_errors == 0);
  auto t = temperature.try_receive();
  REQUIRE(t);
  CHECK(std::get<double>(t->value) == Approx(21.5));

  const auto& g = c["gps"];
  CHECK(g.polls == 2 * 3600);     // a GGA and an RMC every second
  CHECK(g.crc_errors > 100);      // 5 % of the GGAs
  CHECK(g.crc_errors < 280);
  CHECK(g.good_polls + g.crc_errors == g.polls);
  CHECK(g.timeouts == 0);

  const auto& m = c["meter"];
  CHECK(m.requests == 1800);      // one per 2 s period, at 0, 2, ... < 3600 s
  CHECK(m.good_polls == 1800);    // every one answered (the last 300 ms before the stop)
  CHECK(m.missed == 0);
  CHECK(m.timeouts == 0);
  auto v = volts.try_receive();
  REQUIRE(v);
  CHECK(std::get<double>(v->value) == Approx(230.1));

  const auto& q = c["mute"];
  CHECK(q.polls == 0);
  CHECK(q.timeouts == 1);         // stale once, after 3 s of silence, not once per period
  auto s = mute.try_receive();
  REQUIRE(s);
  CHECK(s->quality == weft::Quality::stale);
  CHECK(std::isnan(std::get<double>(s->value)));
  CHECK_FALSE(mute.try_receive());

  const auto& b = c["boiler"];
  CHECK(b.polls == 3600);
  CHECK(b.good_polls == 3600);
}
