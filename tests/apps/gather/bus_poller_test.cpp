// BusPoller on a line that never goes quiet (virtual clock): a device on
// the far end of an in-memory pipe sends a byte every millisecond, closer
// than t3.5 at 19200 baud. Every poll must then give up after the port's
// configured max_quiet_wait (not the 1 s default), send nothing, and be
// counted as line_busy, not as an "other" error; the points go out as
// comm-error naming the busy line, and the skipped bytes show as noise.
#include "weft/apps/gather/bus_poller.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/pipe_stream.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

const char* const kConfig = R"([service.gather]
[[serial]]
name = "rs485"
path = "/dev/null-rs485"
baud = 19200
parity = "E"
retries = 0
max_quiet_wait = "300ms"
[[instrument]]
name = "boiler"
port = "rs485"
unit = 3
period = "5s"
  [[instrument.point]]
  name = "t"
  address = 100
)";

struct Talk {
  std::uint64_t bytes_sent = 0;
  bool request_seen = false;  // anything arrived from the master
};

// Talks forever, a byte a millisecond, and notes whether the master wrote.
boost::asio::awaitable<void> babble(std::unique_ptr<weft::PipeEnd> end, weft::Context& ctx, Talk& talk) {
  const std::uint8_t byte = 0x55;
  for (;;) {
    if (end->available() > 0) talk.request_seen = true;
    co_await boost::asio::async_write(*end, boost::asio::buffer(&byte, 1), boost::asio::use_awaitable);
    ++talk.bytes_sent;
    co_await ctx.sleep_until(ctx.clock().now() + 1ms);  // zero slack: never a gap of t3.5
  }
}

class BabblingLine final : public weft::apps::PortBinding {
public:
  BabblingLine(weft::TaskGroup& devices, Talk& talk) : devices_(devices), talk_(talk) {}
  boost::asio::awaitable<weft::apps::OpenedPort> open(weft::Context& ctx) override {
    auto [master_end, device_end] = weft::make_pipe(ctx.executor());
    // Already talking when the port opens: the first poll finds a byte waiting.
    const std::uint8_t byte = 0x55;
    co_await boost::asio::async_write(*device_end, boost::asio::buffer(&byte, 1), boost::asio::use_awaitable);
    ++talk_.bytes_sent;
    devices_.spawn(babble(std::move(device_end), ctx, talk_));
    co_return weft::apps::OpenedPort{std::move(master_end), std::nullopt};
  }

private:
  weft::TaskGroup& devices_;
  Talk& talk_;
};

struct Outcome {
  Talk talk;
  weft::apps::InstrumentCounters counters;
  std::vector<weft::Reading> readings;
  std::int64_t started_ns = 0;
  std::uint64_t noise_bytes = 0;
  bool any_tx_frame = false;
};

}  // namespace

TEST_CASE("a line that never goes quiet: each poll is line_busy after max_quiet_wait, nothing sent",
          "[gather][modbus][quiet]") {
  const weft::Config config = weft::Config::parse(kConfig, "busy.toml");
  const auto root = config.root();
  const weft::apps::GatherConfig gather = weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
  Outcome out;
  weft::Runtime runtime(weft::test::virtual_options());
  runtime.add(weft::coroutine_service("bus", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    weft::TaskGroup tasks(ctx.executor());
    weft::apps::BusPoller poller(ctx, gather.ports.at(0), {&gather.instruments.at(0)},
                                 std::make_unique<BabblingLine>(tasks, out.talk));
    weft::Subscription sub = ctx.subscribe("boiler.*", 64);
    out.started_ns = weft::to_ns(ctx.clock().now());
    ctx.ready();
    // Named: the coroutine refers to the lambda's captures, so it must outlive the join.
    auto look_then_stop = [&]() -> boost::asio::awaitable<void> {
      co_await ctx.sleep_until(ctx.clock().now() + 9500ms);  // polls at 0 and 5 s
      out.counters = poller.counters().at(0).second;
      while (auto r = sub.try_receive()) out.readings.push_back(std::move(*r));
      out.noise_bytes = poller.recorder().noise_bytes();
      for (const auto& f : poller.recorder().frames()) out.any_tx_frame |= f.direction == weft::FrameDirection::tx;
      runtime.request_stop();
    };
    tasks.spawn(poller.run([] {}));
    tasks.spawn(look_then_stop());
    co_await tasks.join();
  }));
  REQUIRE(runtime.run() == weft::kExitOk);

  const auto& c = out.counters;
  CHECK(c.polls == 2);
  CHECK(c.line_busy == 2);
  CHECK(c.other_errors == 0);
  CHECK(c.timeouts == 0);
  CHECK(c.good_polls == 0);
  CHECK_THAT(c.last_error, Contains("line busy"));
  CHECK_FALSE(out.talk.request_seen);
  CHECK_FALSE(out.any_tx_frame);
  CHECK(out.talk.bytes_sent > 9000);
  CHECK(out.noise_bytes > 500);  // what the master drained while it waited

  // The first poll gave up after the configured 300 ms, not the 1 s default.
  REQUIRE(out.readings.size() == 2);
  const auto& first = out.readings.front();
  CHECK(first.quality == weft::Quality::comm_error);
  const double after_ms = static_cast<double>(first.mono_ns - out.started_ns) / 1e6;
  INFO("first comm-error reading " << after_ms << " ms after the start");
  CHECK(after_ms >= 300);
  CHECK(after_ms < 350);
}
