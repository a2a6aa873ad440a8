// The simulated ASCII instrument writes what the parse specs read: kv, csv
// and NMEA lines (checksums right) with the model's values; each fault,
// forced to rate 1, damages the line the way a reader must notice (bad
// checksum, non-UTF-8 garbage, over-long, truncated, silence, disconnect).
// Served on a pipe on the virtual clock, it streams one reading per period
// or answers each request.
#include "weft/drivers/sim/ascii_device.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/drivers/ascii/escape.hpp"
#include "weft/drivers/ascii/line_framer.hpp"
#include "weft/drivers/ascii/parse_spec.hpp"
#include "weft/drivers/pipe_stream.hpp"

using namespace std::chrono_literals;
using weft::ascii::FieldType;
using weft::ascii::ParseCode;
using weft::ascii::ParseSpec;
using weft::sim::AsciiDevice;
using weft::sim::AsciiDeviceSpec;
using weft::sim::ValueModel;

namespace {

ValueModel constant(double v) {
  ValueModel m;
  m.kind = ValueModel::Kind::constant;
  m.min = v;
  return m;
}

AsciiDeviceSpec kv_spec() {
  AsciiDeviceSpec s;
  s.format.kind = ParseSpec::Kind::key_value;
  s.format.terminator = "\r\n";
  s.format.fields = {{"T", "", 0, FieldType::number, constant(21.5)}, {"N", "", 0, FieldType::integer, constant(41.6)}};
  return s;
}

ParseSpec kv_parser() {
  weft::ascii::KeyValueOptions o;
  o.keys = {{"T", "t", FieldType::number, false}, {"N", "n", FieldType::integer, false}};
  return ParseSpec::key_value(o);
}

AsciiDeviceSpec nmea_spec() {
  AsciiDeviceSpec s;
  s.format.kind = ParseSpec::Kind::nmea;
  s.format.terminator = "\r\n";
  s.format.fields = {{"", "GGA", 2, FieldType::number, constant(4807.038)},
                     {"", "GGA", 7, FieldType::integer, constant(8)},
                     {"", "GPRMC", 7, FieldType::number, constant(22.4)}};
  return s;
}

ParseSpec nmea_parser() {
  return ParseSpec::nmea({{"GGA", 2, "lat", FieldType::number, false},
                          {"GGA", 7, "sats", FieldType::integer, false},
                          {"RMC", 7, "speed", FieldType::number, false}});
}

std::vector<std::string> split_lines(const std::string& bytes, const std::string& terminator) {
  weft::ascii::LineFramer framer({terminator, 256, true});
  return framer.feed(bytes).lines;
}

const weft::MonoTime t0 = weft::VirtualClock::kStart;

}  // namespace

TEST_CASE("sim ascii: kv lines parse back to the model's values", "[ascii][sim]") {
  AsciiDevice device(kv_spec(), 1);
  const std::string bytes = device.format(t0);
  CHECK(bytes == "T=21.5 N=42\r\n");
  const auto r = kv_parser().parse(split_lines(bytes, "\r\n").at(0));
  REQUIRE(r.ok());
  CHECK(std::get<double>(r.values.at(0).value) == Approx(21.5));
  CHECK(std::get<std::int64_t>(r.values.at(1).value) == 42);
}

TEST_CASE("sim ascii: csv columns land where the spec reads them", "[ascii][sim]") {
  AsciiDeviceSpec s;
  s.format.kind = ParseSpec::Kind::csv;
  s.format.delimiter = ';';
  s.format.terminator = "\n";
  s.format.fields = {{"", "", 3, FieldType::number, constant(-1.25)}, {"", "", 0, FieldType::number, constant(7)}};
  AsciiDevice device(s, 1);
  const std::string bytes = device.format(t0);
  CHECK(bytes == "7;;;-1.25\n");
  const auto spec = ParseSpec::csv({{3, "a", FieldType::number, false}, {0, "b", FieldType::number, false}}, ';');
  const auto r = spec.parse(split_lines(bytes, "\n").at(0));
  REQUIRE(r.ok());
  CHECK(std::get<double>(r.values.at(0).value) == Approx(-1.25));
  CHECK(std::get<double>(r.values.at(1).value) == Approx(7));
}

TEST_CASE("sim ascii: NMEA sentences carry correct checksums", "[ascii][sim]") {
  AsciiDevice device(nmea_spec(), 1);
  const auto lines = split_lines(device.format(t0), "\r\n");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("$GPGGA,,4807.038,,,,,8*", 0) == 0);
  CHECK(lines[1].rfind("$GPRMC,,,,,,,22.4*", 0) == 0);
  const ParseSpec spec = nmea_parser();
  for (const auto& line : lines) {
    INFO(line);
    const auto r = spec.parse(line);
    REQUIRE(r.ok());
    const std::size_t star = line.find('*');
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02X", static_cast<unsigned>(weft::ascii::nmea_checksum(line.substr(1, star - 1))));
    CHECK(line.substr(star + 1) == hex);
  }
  CHECK(std::get<double>(spec.parse(lines[0]).values.at(0).value) == Approx(4807.038));
  CHECK(std::get<std::int64_t>(spec.parse(lines[0]).values.at(1).value) == 8);
}

TEST_CASE("sim ascii: each fault at rate 1 damages the reading as configured", "[ascii][sim]") {
  SECTION("bad checksum") {
    auto s = nmea_spec();
    s.faults.bad_checksum = 1;
    AsciiDevice device(s, 3);
    const auto lines = split_lines(device.emit(t0), "\r\n");
    REQUIRE(lines.size() == 2);
    CHECK(nmea_parser().parse(lines[0]).code == ParseCode::bad_checksum);
    CHECK(nmea_parser().parse(lines[1]).ok());  // faults touch the first line only
  }
  SECTION("garbage: non-UTF-8 bytes, one line, never a reading") {
    auto s = kv_spec();
    s.faults.garbage = 1;
    AsciiDevice device(s, 4);
    for (int k = 0; k < 50; ++k) {
      const std::string bytes = device.emit(t0);
      const auto lines = split_lines(bytes, "\r\n");
      REQUIRE(lines.size() == 1);
      CHECK_FALSE(weft::ascii::is_printable_utf8(lines[0]));
      CHECK(kv_parser().parse(lines[0]).error());
    }
  }
  SECTION("over-long: longer than max_line, dropped whole by the framer") {
    auto s = kv_spec();
    s.faults.overlong = 1;
    s.max_line = 40;
    AsciiDevice device(s, 5);
    weft::ascii::LineFramer framer({"\r\n", 40, true});
    const auto fed = framer.feed(device.emit(t0));
    CHECK(fed.lines.empty());
    REQUIRE(fed.discards.size() == 1);
    CHECK(fed.discards[0].length == 41);
  }
  SECTION("truncated: the terminator is lost, the next reading runs into it") {
    auto s = kv_spec();
    s.faults.truncated = 1;
    AsciiDevice device(s, 6);
    const std::string bytes = device.emit(t0);
    CHECK_FALSE(bytes.empty());
    CHECK(bytes.find("\r\n") == std::string::npos);
    CHECK(bytes.size() < device.format(t0).size() - 2);
  }
  SECTION("silence and disconnect") {
    auto s = kv_spec();
    s.faults.no_answer = 1;
    AsciiDevice quiet(s, 7);
    CHECK(quiet.emit(t0).empty());
    CHECK_FALSE(quiet.disconnecting());
    s.faults.disconnect = 1;
    AsciiDevice gone(s, 7);
    CHECK(gone.emit(t0).empty());
    CHECK(gone.disconnecting());
    CHECK(gone.counters().disconnects == 1);
  }
}

TEST_CASE("sim ascii: faults come at their configured rate, reproducibly", "[ascii][sim]") {
  auto s = nmea_spec();
  s.faults.bad_checksum = 0.1;
  AsciiDevice a(s, 11), b(s, 11);
  int bad = 0;
  for (int k = 0; k < 2000; ++k) {
    const std::string bytes = a.emit(t0);
    CHECK(bytes == b.emit(t0));
    if (nmea_parser().parse(split_lines(bytes, "\r\n").at(0)).code == ParseCode::bad_checksum) ++bad;
  }
  CHECK(bad > 140);
  CHECK(bad < 260);
}

TEST_CASE("sim ascii: streams one reading per period on a pipe, drift-free", "[ascii][sim]") {
  weft::Runtime runtime(weft::test::virtual_options());
  auto [reader_end, device_end] = weft::make_pipe(runtime.io_context().get_executor());
  auto spec = kv_spec();
  spec.period = 2s;
  AsciiDevice device(spec, 1);
  std::string received;
  std::vector<std::int64_t> arrivals_ms;
  runtime.add(weft::coroutine_service("device", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await device.serve(*device_end, ctx.timers());
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("reader", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    std::array<char, 256> chunk{};
    for (;;) {
      const std::size_t n = co_await reader_end->async_read_some(boost::asio::buffer(chunk), boost::asio::use_awaitable);
      received.append(chunk.data(), n);
      arrivals_ms.push_back(weft::test::ms_since_start(ctx.clock().now()));
    }
  }));
  runtime.stop_after(9s);
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(split_lines(received, "\r\n").size() == 5);  // at 0, 2, 4, 6, 8 s
  CHECK(arrivals_ms == std::vector<std::int64_t>{0, 2000, 4000, 6000, 8000});
  CHECK(device.counters().readings == 5);
}

TEST_CASE("sim ascii: a polled instrument answers each request after its delay", "[ascii][sim]") {
  weft::Runtime runtime(weft::test::virtual_options());
  auto [reader_end, device_end] = weft::make_pipe(runtime.io_context().get_executor());
  auto spec = kv_spec();
  spec.request = "READ?\r\n";
  spec.response_delay = 150ms;
  AsciiDevice device(spec, 1);
  std::vector<std::string> answers;
  std::vector<std::int64_t> answered_ms;
  runtime.add(weft::coroutine_service("device", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await device.serve(*device_end, ctx.timers());
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("master", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    // Noise and a request split over two writes: only whole requests are answered.
    for (const std::string& chunk : {std::string("xx\r\nRE"), std::string("AD?\r\n"), std::string("READ?\r\n")}) {
      co_await boost::asio::async_write(*reader_end, boost::asio::buffer(chunk), boost::asio::use_awaitable);
      co_await ctx.sleep_until(ctx.clock().now() + 1s);  // no slack: exact times below
    }
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("reader", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    std::array<char, 256> chunk{};
    for (;;) {
      const std::size_t n = co_await reader_end->async_read_some(boost::asio::buffer(chunk), boost::asio::use_awaitable);
      answers.emplace_back(chunk.data(), n);
      answered_ms.push_back(weft::test::ms_since_start(ctx.clock().now()));
    }
  }));
  runtime.stop_after(5s);
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(answers == std::vector<std::string>{"T=21.5 N=42\r\n", "T=21.5 N=42\r\n"});
  CHECK(answered_ms == std::vector<std::int64_t>{1150, 2150});
  CHECK(device.counters().requests == 2);
}
