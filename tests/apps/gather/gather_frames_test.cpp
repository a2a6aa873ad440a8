// The serial flight recorders seen from outside: gather on simulated
// instruments (virtual clock) with seeded faults, then the console's
// `frames` command (through the command registry, as the console runs it)
// and a dump. A bus with glitch bytes before its answers shows each skipped
// run as a noise row and their totals (bytes, frames) in the header. The Modbus bus shows timeouts and bad CRCs beside good
// answers, the NMEA port its lines with bad checksums, an unknown or idle
// port is a failed reply naming the ports there are, and the dump carries
// one "serial PORT: last frames" section per open port.
#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <string>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "support/files.hpp"

using namespace std::chrono_literals;

namespace {

const char* const kFramesPlant = R"(
[service.gather]
[[serial]]
name = "rs485"
path = "/dev/null-rs485"
response_timeout = "100ms"
retries = 0
[[serial]]
name = "nav"
path = "/dev/null-nav"
[[serial]]
name = "spare"
path = "/dev/null-spare"

[[instrument]]
name = "boiler"
port = "rs485"
unit = 3
period = "1s"
quarantine_after = 1000
  [[instrument.point]]
  name = "temperature"
  address = 100
  sim = { model = "constant", value = 70 }
  [instrument.sim]
  no_answer = 0.3
  bad_crc = 0.3

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
  [instrument.sim]
  bad_checksum = 0.3
)";

struct Asked {
  weft::CommandReply all, bus, nav, few, unknown, idle, bad_count, too_many;
  std::string help, dump;
};

Asked ask_after_a_minute() {
  Asked out;
  auto assembly = weft::apps::assemble(weft::Config::parse(kFramesPlant, "plant.toml"), {true, 11, nullptr});
  assembly.options.virtual_time = true;
  assembly.options.handle_signals = false;
  weft::Runtime runtime(assembly.options);
  weft::apps::add_services(runtime, assembly);
  runtime.add(weft::coroutine_service("asker", {"gather"}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(60s);
    weft::Commands& commands = runtime.commands();
    if (const weft::Command* c = commands.find("frames")) out.help = c->help;
    // Named, not braced in the co_await: GCC 12 miscompiles a braced list there.
    const weft::CommandArgs none, bus64{"rs485", "64"}, nav{"nav"}, three{"3"}, unknown{"rs232"}, idle{"spare"},
        zero{"rs485", "0"}, too_many{"rs485", "5", "6"};
    out.all = co_await commands.run("frames", none);
    out.bus = co_await commands.run("frames", bus64);
    out.nav = co_await commands.run("frames", nav);
    out.few = co_await commands.run("frames", three);
    out.unknown = co_await commands.run("frames", unknown);
    out.idle = co_await commands.run("frames", idle);
    out.bad_count = co_await commands.run("frames", zero);
    out.too_many = co_await commands.run("frames", too_many);
    out.dump = runtime.dump_text("test");
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  return out;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("frames: the flight recorders of gather's ports, from the console and in a dump", "[gather][frames]") {
  const Asked a = ask_after_a_minute();
  CHECK(weft::test::contains(a.help, "frames"));

  INFO("frames:\n" << a.all.text);
  REQUIRE(a.all.ok);
  CHECK(weft::test::contains(a.all.text, "serial rs485: last 20 of "));
  CHECK(weft::test::contains(a.all.text, "serial nav: last 20 of "));
  CHECK(weft::test::contains(a.all.text, "AGE        DIR  LEN  VERDICT  BYTES\n"));

  INFO("frames rs485 64:\n" << a.bus.text);
  REQUIRE(a.bus.ok);
  CHECK(weft::test::contains(a.bus.text, "serial rs485: last 64 of "));
  CHECK(weft::test::contains(a.bus.text, "(Modbus RTU, ring of 64)"));
  CHECK(count(a.bus.text, "\n-") == 64);
  // Unit 3, read holding register 100: the request as it went out, the answer (70).
  CHECK(weft::test::contains(a.bus.text, "tx   8    sent     03 03 00 64 00 01 c4 37"));
  CHECK(weft::test::contains(a.bus.text, "  ok       03 03 02 00 46 "));
  CHECK(weft::test::contains(a.bus.text, "rx   0    timeout  (nothing)"));
  CHECK(weft::test::contains(a.bus.text, "  bad-crc  03 03 02 00 46 "));
  CHECK_FALSE(weft::test::contains(a.bus.text, "serial nav"));
  // Timeouts and bad CRCs are no noise: the total says so.
  CHECK(weft::test::contains(a.bus.text, "(Modbus RTU, ring of 64); noise skipped since start: 0 bytes in 0 frames\n"));
  CHECK(weft::test::contains(a.bus.json, "\"capacity\":64,\"noise_frames\":0,\"noise_bytes\":0,"));
  CHECK(weft::test::contains(a.bus.json, "{\"ports\":[{\"port\":\"rs485\",\"kind\":\"modbus\",\"total\":"));
  CHECK(weft::test::contains(a.bus.json, "\"dir\":\"tx\",\"length\":8,\"kept\":8,\"verdict\":\"sent\",\"hex\":\"0303006400"));
  CHECK(weft::test::contains(a.bus.json, "\"verdict\":\"timeout\""));
  CHECK(weft::test::contains(a.bus.json, "\"verdict\":\"bad-crc\""));

  INFO("frames nav:\n" << a.nav.text);
  REQUIRE(a.nav.ok);
  CHECK(weft::test::contains(a.nav.text, "(lines, ring of 64)"));
  CHECK(weft::test::contains(a.nav.text, "  ok       \"$GPGGA,"));
  CHECK(weft::test::contains(a.nav.text, "  bad-crc  \"$GP"));
  CHECK(weft::test::contains(a.nav.json, "\"kind\":\"lines\""));
  CHECK_FALSE(weft::test::contains(a.nav.text, "noise skipped"));  // lines are never noise
  CHECK(weft::test::contains(a.nav.json, "\"text\":\"$GP"));

  CHECK(a.few.ok);
  CHECK(count(a.few.text, "\n-") == 6);  // 3 frames on each of the two ports

  CHECK_FALSE(a.unknown.ok);
  CHECK(a.unknown.text == "frames: no port \"rs232\"; ports: rs485, nav\n");
  CHECK_FALSE(a.idle.ok);
  CHECK(a.idle.text == "frames: port \"spare\" has no instruments, so gather does not open it; ports: rs485, nav\n");
  CHECK_FALSE(a.bad_count.ok);
  CHECK(weft::test::contains(a.bad_count.text, "the count must be a positive whole number, not \"0\"\nusage: frames [PORT] [N]"));
  CHECK_FALSE(a.too_many.ok);

  INFO("dump:\n" << a.dump);
  CHECK(weft::test::contains(a.dump, "serial rs485: last frames"));
  CHECK(weft::test::contains(a.dump, "serial nav: last frames"));
  CHECK(weft::test::contains(a.dump, "serial rs485: last 64 of "));
  CHECK(weft::test::contains(a.dump, "rx   0    timeout  (nothing)"));
  CHECK_FALSE(weft::test::contains(a.dump, "serial spare"));
}

namespace {

const char* const kNoisyBus = R"(
[service.gather]
[[serial]]
name = "rs485"
path = "/dev/null-rs485"
retries = 0
[[instrument]]
name = "boiler"
port = "rs485"
unit = 3
period = "1s"
  [[instrument.point]]
  name = "temperature"
  address = 100
  sim = { model = "constant", value = 70 }
  [instrument.sim]
  noise = 0.5
)";

// `frames rs485 64` after 19.5 s: 20 polls, so at most 60 frames, all still in the ring of 64.
weft::CommandReply frames_of_noisy_bus() {
  weft::CommandReply out;
  auto assembly = weft::apps::assemble(weft::Config::parse(kNoisyBus, "noisy.toml"), {true, 5, nullptr});
  assembly.options.virtual_time = true;
  assembly.options.handle_signals = false;
  weft::Runtime runtime(assembly.options);
  weft::apps::add_services(runtime, assembly);
  runtime.add(weft::coroutine_service("asker", {"gather"}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(19500ms);
    const weft::CommandArgs bus64{"rs485", "64"};
    out = co_await runtime.commands().run("frames", bus64);
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  return out;
}

}  // namespace

TEST_CASE("frames: glitch bytes before answers are noise rows, and the header totals them", "[gather][frames][noise]") {
  const weft::CommandReply r = frames_of_noisy_bus();
  INFO("frames rs485 64:\n" << r.text << "\njson: " << r.json);
  REQUIRE(r.ok);
  std::smatch m;
  REQUIRE(std::regex_search(r.text, m, std::regex(R"(; noise skipped since start: (\d+) bytes in (\d+) frames\n)")));
  const std::uint64_t total_bytes = std::stoull(m[1]), total_frames = std::stoull(m[2]);
  REQUIRE(std::regex_search(r.text, m, std::regex(R"(serial rs485: last (\d+) of (\d+) frames)")));
  REQUIRE(m[1] == m[2]);  // the ring still holds every frame: its rows must add up to the totals

  std::uint64_t row_bytes = 0, row_frames = 0, answers_ok = 0;
  const std::regex noise_row(R"(^-[0-9.]+ s +rx +(\d+) +noise +((00|ff) ?)+$)");
  std::istringstream lines(r.text);
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, m, noise_row)) {
      ++row_frames;
      row_bytes += std::stoull(m[1]);
    }
    if (weft::test::contains(line, "  ok       03 03 02 00 46 ")) ++answers_ok;
  }
  CHECK(total_frames > 3);  // half of 20 answers, give or take the seed
  CHECK(total_frames == row_frames);
  CHECK(total_bytes == row_bytes);
  CHECK(total_bytes >= total_frames);
  CHECK(total_bytes <= 3 * total_frames);
  CHECK(answers_ok == 20);  // the noise cost no poll
  CHECK(weft::test::contains(r.json, ",\"noise_frames\":" + std::to_string(total_frames) +
                             ",\"noise_bytes\":" + std::to_string(total_bytes) + ","));
}
