// AsciiReader on an in-memory pipe, on the virtual clock: a scripted peer
// writes good lines, garbage (non-UTF-8), a bad number, an over-long line,
// a line split over two writes, then falls silent and finally hangs up.
// The reader must publish exactly the good values, count every bad line,
// go stale once per silence (and fresh on the next good line), publish
// comm-error once when the port goes, and log one line per state change.
// NMEA: bad and missing checksums are counted as such, unknown sentences
// ignored. A polled instrument sends its request every period. A port
// that opens and hangs up at once backs off (reopen_min doubling to
// reopen_max); one that delivered a line starts again from reopen_min.
#include "weft/apps/gather/ascii_reader.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/pipe_stream.hpp"

using namespace std::chrono_literals;
using weft::Quality;

namespace {

// The port opens once onto the pipe; after that the device is gone.
class OnePipe final : public weft::apps::PortBinding {
public:
  explicit OnePipe(std::unique_ptr<weft::PipeEnd> end) : end_(std::move(end)) {}
  boost::asio::awaitable<weft::apps::OpenedPort> open(weft::Context&) override {
    ++opens;
    if (end_) co_return weft::apps::OpenedPort{std::move(end_), std::nullopt};
    co_return weft::apps::OpenedPort{
        nullptr, weft::serial::PortError{weft::serial::PortErrorKind::not_found, ENOENT, "/dev/test: no such device"}};
  }
  int opens = 0;

private:
  std::unique_ptr<weft::PipeEnd> end_;
};

struct Step {
  weft::Duration at;    // since the start
  std::string bytes;    // empty: hang up (close the peer's end)
};

struct Seen {
  std::int64_t ms;
  std::string point;
  weft::Value value;
  Quality quality;
};

struct Run {
  std::vector<Seen> readings;
  weft::apps::InstrumentCounters counters;
  std::vector<std::string> requests_heard;  // what the peer read, per read
};

Run run_reader(const std::string& toml, const std::vector<Step>& script, weft::Duration length) {
  const weft::Config config = weft::Config::parse(toml, "ascii.toml");
  const auto root = config.root();
  const weft::apps::GatherConfig gather = weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
  REQUIRE(gather.instruments.size() == 1);

  Run out;
  weft::Runtime runtime(weft::test::virtual_options());
  auto [reader_end, peer_end] = weft::make_pipe(runtime.io_context().get_executor());
  auto sub = runtime.bus().subscribe(gather.instruments[0].name + ".*", 10000);
  std::unique_ptr<weft::apps::AsciiReader> reader;
  runtime.add(weft::coroutine_service("reader", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    reader = std::make_unique<weft::apps::AsciiReader>(ctx, gather.ports[0], gather.instruments[0],
                                                       std::make_unique<OnePipe>(std::move(reader_end)));
    co_await reader->run([&] { ctx.ready(); });
  }));
  runtime.add(weft::coroutine_service("peer", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    for (const Step& step : script) {
      co_await ctx.sleep_until(weft::VirtualClock::kStart + step.at);
      if (step.bytes.empty()) {
        peer_end.reset();
        break;
      }
      co_await boost::asio::async_write(*peer_end, boost::asio::buffer(step.bytes), boost::asio::use_awaitable);
    }
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("listener", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    std::array<char, 64> chunk{};
    while (peer_end) {  // what the reader sends (requests), until the peer hangs up
      const auto [error, n] = co_await peer_end->async_read_some(boost::asio::buffer(chunk),
                                                                 boost::asio::as_tuple(boost::asio::use_awaitable));
      if (error) break;
      out.requests_heard.emplace_back(chunk.data(), n);
    }
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(length);
  REQUIRE(runtime.run() == weft::kExitOk);
  while (auto r = sub.try_receive())
    out.readings.push_back({weft::test::ms_since_start(weft::MonoTime(weft::Duration(r->mono_ns))), r->point, r->value,
                            r->quality});
  out.counters = reader->instrument_counters();
  return out;
}

const char* const kWeather = R"(
[service.gather]
[[serial]]
name = "met"
path = "/dev/test-met"
reopen_min = "1s"
[[instrument]]
name = "weather"
port = "met"
protocol = "ascii"
format = "kv"
period = "1s"
stale_after = "3s"
max_line = 64
  [[instrument.point]]
  name = "temperature"
  key = "T"
  unit = "degC"
  [[instrument.point]]
  name = "humidity"
  key = "H"
)";

std::string describe(const std::vector<Seen>& seen) {
  std::string s;
  for (const auto& r : seen)
    s += std::to_string(r.ms) + " " + r.point + " = " + weft::to_string(r.value) + " (" +
         std::string(weft::to_string(r.quality)) + ")\n";
  return s;
}

}  // namespace

TEST_CASE("ascii reader: good, garbage, over-long, stale, fresh again, hang-up", "[ascii][reader]") {
  const std::vector<Step> script = {
      {1s, "T=21.5 H=40\n"},
      {2s, "T=21.6 H=41\r\n"},
      {3s, "\xFE\x01\x80junk\xC3\n"},          // garbage, not UTF-8
      {3500ms, "T=abc H=1\n"},                  // a bad number
      {4s, std::string(100, 'x') + "\n"},      // over-long (max_line 64)
      {5s, "T=22 H=42\n"},
      // silence: stale at 8 s, once
      {12s, "T=23"},                            // a line split over two writes
      {12500ms, " H=43\n"},
      {14s, ""},                                // hang up
  };
  const Run run = run_reader(kWeather, script, 20s);
  INFO(describe(run.readings));

  std::map<std::string, std::vector<Seen>> by_point;
  for (const auto& r : run.readings) by_point[r.point].push_back(r);
  REQUIRE(by_point.size() == 2);
  const auto& t = by_point["weather.temperature"];
  REQUIRE(t.size() == 6);
  const std::vector<std::int64_t> times{1000, 2000, 5000, 8000, 12500, 14000};
  const std::vector<double> values{21.5, 21.6, 22, 22, 23, 23};
  const std::vector<Quality> qualities{Quality::good, Quality::good, Quality::good, Quality::stale, Quality::good,
                                       Quality::comm_error};
  for (std::size_t k = 0; k < t.size(); ++k) {
    INFO(k);
    CHECK(t[k].ms == times[k]);
    CHECK(std::get<double>(t[k].value) == Approx(values[k]));
    CHECK(t[k].quality == qualities[k]);
  }
  CHECK(by_point["weather.humidity"].size() == 6);
  CHECK(std::get<double>(by_point["weather.humidity"][4].value) == Approx(43));

  const auto& c = run.counters;
  CHECK(c.polls == 7);        // lines: 4 good, garbage, bad number, over-long
  CHECK(c.good_polls == 4);
  CHECK(c.bad_lines == 3);
  CHECK(c.overlong == 1);
  CHECK(c.crc_errors == 0);
  CHECK(c.timeouts == 1);     // one stale episode
  CHECK(c.other_errors == 4); // garbage, bad number, over-long, the hang-up
  CHECK(c.readings == 12);
  REQUIRE(c.last_good);
  CHECK(weft::test::ms_since_start(*c.last_good) == 12500);
}

TEST_CASE("ascii reader: a port that never opens publishes comm-error once", "[ascii][reader]") {
  // The script hangs up at once: the single open finds the pipe closed (EOF),
  // every later open finds the device absent.
  const Run run = run_reader(kWeather, {{0s, ""}}, 30s);
  INFO(describe(run.readings));
  REQUIRE(run.readings.size() == 2);
  for (const auto& r : run.readings) {
    CHECK(r.quality == Quality::comm_error);
    CHECK(std::isnan(std::get<double>(r.value)));
  }
}

TEST_CASE("ascii reader: NMEA checksums and unknown sentences", "[ascii][reader]") {
  const std::string toml = R"(
[service.gather]
[[serial]]
name = "nav"
path = "/dev/test-gps"
[[instrument]]
name = "gps"
port = "nav"
protocol = "ascii"
format = "nmea"
period = "1s"
stale_after = "10s"
  [[instrument.point]]
  name = "lat"
  sentence = "GGA"
  field = 2
  [[instrument.point]]
  name = "sats"
  sentence = "GGA"
  field = 7
  type = "integer"
)";
  const std::vector<Step> script = {
      {1s, "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"},
      {2s, "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48\r\n"},  // bad checksum
      {3s, "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,\r\n"},     // no checksum
      // A bad checksum, then an over-long line, in one write: judged in that order.
      {3500ms, "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48\r\n" + std::string(300, 'x') + "\r\n"},
      {4s, "$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K*48\r\n"},                          // not asked for
      {5s, "$GNGGA,123520,4807.100,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,*58\r\n"},
  };
  const Run run = run_reader(toml, script, 8s);
  INFO(describe(run.readings));
  const auto& c = run.counters;
  CHECK(c.polls == 7);
  CHECK(c.good_polls == 2);
  CHECK(c.crc_errors == 3);
  CHECK(c.bad_lines == 4);
  CHECK(c.overlong == 1);
  CHECK_THAT(c.last_error, Catch::Matchers::StartsWith("a line of 300 bytes, longer than max_line 256"));
  CHECK(c.ignored == 1);
  CHECK(c.timeouts == 0);
  REQUIRE(run.readings.size() == 4);
  CHECK(run.readings[0].point == "gps.lat");
  CHECK(std::get<double>(run.readings[0].value) == Approx(4807.038));
  CHECK(std::get<std::int64_t>(run.readings[1].value) == 8);
  CHECK(run.readings[2].ms == 5000);
  CHECK(std::get<double>(run.readings[2].value) == Approx(4807.1));
  CHECK(std::get<std::int64_t>(run.readings[3].value) == 9);
}

TEST_CASE("ascii reader: a polled instrument gets its request every period", "[ascii][reader]") {
  const std::string toml = R"(
[service.gather]
[[serial]]
name = "lab"
path = "/dev/test-lab"
[[instrument]]
name = "meter"
port = "lab"
protocol = "ascii"
format = "csv"
period = "2s"
request = "READ?\r\n"
  [[instrument.point]]
  name = "volts"
  column = 1
)";
  // The peer answers the first three requests (at 0, 2, 4 s) 100 ms late, then
  // falls silent: stale at 4.1 + 6 (3 x period) = 10.1 s.
  const std::vector<Step> script = {
      {100ms, "OK,1.5\n"}, {2100ms, "OK,1.6\n"}, {4100ms, "OK,1.7\n"}};
  const Run run = run_reader(toml, script, 11s);
  INFO(describe(run.readings));
  std::string heard;
  for (const auto& h : run.requests_heard) heard += h;
  CHECK(heard == "READ?\r\nREAD?\r\nREAD?\r\nREAD?\r\nREAD?\r\nREAD?\r\n");  // 0, 2, 4, 6, 8, 10 s
  CHECK(run.counters.requests == 6);
  CHECK(run.counters.missed == 0);
  REQUIRE(run.readings.size() == 4);
  CHECK(run.readings[3].quality == Quality::stale);
  CHECK(run.readings[3].ms == 10100);
  CHECK(std::get<double>(run.readings[3].value) == Approx(1.7));
}

// Named, not anonymous: the tests are built as unity chunks.
namespace ascii_backoff_test {

const char* const kFlaky = R"(
[service.gather]
[[serial]]
name = "met"
path = "/dev/test-met"
reopen_min = "100ms"
reopen_max = "400ms"
[[instrument]]
name = "weather"
port = "met"
protocol = "ascii"
format = "kv"
period = "1s"
  [[instrument.point]]
  name = "temperature"
  key = "T"
)";

// Every open finds a device that hangs up at once (end of file on the
// first read), except open number `talker`, which first sends a line.
class FlakyPort final : public weft::apps::PortBinding {
public:
  FlakyPort(weft::TaskGroup& peers, std::vector<std::int64_t>& opens, std::size_t talker)
      : peers_(peers), opens_(opens), talker_(talker) {}
  boost::asio::awaitable<weft::apps::OpenedPort> open(weft::Context& ctx) override {
    opens_.push_back(weft::test::ms_since_start(ctx.clock().now()));
    auto [mine, theirs] = weft::make_pipe(ctx.executor());
    if (opens_.size() == talker_) peers_.spawn(talk_then_hang_up(std::move(theirs)));
    co_return weft::apps::OpenedPort{std::move(mine), std::nullopt};  // `theirs`, if still here, hangs up now
  }

private:
  static boost::asio::awaitable<void> talk_then_hang_up(std::unique_ptr<weft::PipeEnd> end) {
    const std::string line = "T=21.5\n";
    co_await boost::asio::async_write(*end, boost::asio::buffer(line), boost::asio::use_awaitable);
  }
  weft::TaskGroup& peers_;
  std::vector<std::int64_t>& opens_;
  std::size_t talker_;
};

}  // namespace ascii_backoff_test

TEST_CASE("ascii reader: a port that hangs up after every open backs off, a line resets the back-off",
          "[ascii][reader]") {
  using namespace ascii_backoff_test;
  const weft::Config config = weft::Config::parse(kFlaky, "flaky.toml");
  const auto root = config.root();
  const weft::apps::GatherConfig gather = weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
  std::vector<std::int64_t> opens;
  std::uint64_t good_lines = 0;
  weft::Runtime runtime(weft::test::virtual_options());
  runtime.add(weft::coroutine_service("reader", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    weft::TaskGroup tasks(ctx.executor());
    weft::apps::AsciiReader reader(ctx, gather.ports[0], gather.instruments[0],
                                   std::make_unique<FlakyPort>(tasks, opens, 5));
    auto count_then_stop = [&]() -> boost::asio::awaitable<void> {
      co_await ctx.sleep_until(ctx.clock().now() + 1500ms);
      good_lines = reader.instrument_counters().good_polls;
      runtime.request_stop();
    };
    tasks.spawn(reader.run([&] { ctx.ready(); }));
    tasks.spawn(count_then_stop());
    co_await tasks.join();
  }));
  REQUIRE(runtime.run() == weft::kExitOk);

  // Opens at 0, 100, 300, 700, 1100 (the talker), then 1200 and 1400.
  std::vector<std::int64_t> gaps;
  for (std::size_t k = 1; k < opens.size(); ++k) gaps.push_back(opens[k] - opens[k - 1]);
  INFO("gaps between opens (ms): " << Catch::Detail::stringify(gaps));
  CHECK(good_lines == 1);
  REQUIRE(opens.size() == 7);
  const std::int64_t backoff_ms[] = {100, 200, 400, 400, 100, 200};
  for (std::size_t k = 0; k < gaps.size(); ++k) {
    CHECK(gaps[k] >= backoff_ms[k]);
    CHECK(gaps[k] <= backoff_ms[k] + 20);
  }
}
