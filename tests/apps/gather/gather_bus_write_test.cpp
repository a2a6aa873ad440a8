// BusPoller's write path at its worst moments (virtual clock, an in-memory
// line): a write before the port is open is answered at once; a device
// that drops the line while a write is on the wire fails that write with
// the port's error (and the bus reopens); a stop while a write waits for a
// silent device answers it "gather stopped". Never a request left unanswered.
#include "weft/apps/gather/bus_poller.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/pipe_stream.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

const char* const kBwConfig = R"([service.gather]
[[serial]]
name = "rs485"
path = "/dev/null-rs485"
baud = 19200
parity = "E"
retries = 0
response_timeout = "500ms"
reopen_min = "100ms"
reopen_max = "100ms"
[[instrument]]
name = "boiler"
port = "rs485"
unit = 3
period = "5s"
  [[instrument.point]]
  name = "sp"
  address = 10
  writable = true
)";

// A device that never answers; on its first line it hangs up as soon as a
// write (function 6) arrives. Counts the write requests it saw.
struct BwDevice {
  int opens = 0;
  int writes_seen = 0;
};

boost::asio::awaitable<void> bw_listen(std::unique_ptr<weft::PipeEnd> end, BwDevice& dev, bool hang_up_on_write) {
  std::array<std::uint8_t, 256> buf{};
  for (;;) {
    auto [ec, n] = co_await end->async_read_some(boost::asio::buffer(buf), boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return;
    if (n >= 2 && buf[1] == 6) {
      ++dev.writes_seen;
      if (hang_up_on_write) co_return;  // the end is destroyed: the master reads EOF
    }
  }
}

class BwLine final : public weft::apps::PortBinding {
public:
  BwLine(weft::TaskGroup& devices, BwDevice& dev) : devices_(devices), dev_(dev) {}
  boost::asio::awaitable<weft::apps::OpenedPort> open(weft::Context& ctx) override {
    auto [master_end, device_end] = weft::make_pipe(ctx.executor());
    ++dev_.opens;
    devices_.spawn(bw_listen(std::move(device_end), dev_, dev_.opens == 1));
    co_return weft::apps::OpenedPort{std::move(master_end), std::nullopt};
  }

private:
  weft::TaskGroup& devices_;
  BwDevice& dev_;
};

}  // namespace

TEST_CASE("bus writes: before the open, a dropped line and a stop each answer the write", "[gather][modbus]") {
  const weft::Config config = weft::Config::parse(kBwConfig, "bw.toml");
  const auto root = config.root();
  const weft::apps::GatherConfig gather = weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
  BwDevice dev;
  std::shared_ptr<weft::PendingWrite> early, dropped, stopped;
  bool dropped_answered_in_time = false;
  weft::Runtime runtime(weft::test::virtual_options());
  runtime.add(weft::coroutine_service("bus", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    weft::TaskGroup tasks(ctx.executor());
    weft::apps::BusPoller poller(ctx, gather.ports.at(0), {&gather.instruments.at(0)},
                                 std::make_unique<BwLine>(tasks, dev));
    weft::PointWriter* writer = ctx.bus().writes().find("boiler.sp");
    REQUIRE(writer != nullptr);
    early = std::make_shared<weft::PendingWrite>("boiler.sp", weft::Value{5.0}, "test");
    writer->submit(early);  // the port is not open yet: answered at once
    ctx.ready();
    auto drive = [&]() -> boost::asio::awaitable<void> {
      co_await ctx.sleep_until(ctx.clock().now() + 100ms);  // open; the first poll waits for its 500 ms timeout
      dropped = std::make_shared<weft::PendingWrite>("boiler.sp", weft::Value{6.0}, "test");
      writer->submit(dropped);
      co_await ctx.sleep_until(ctx.clock().now() + 1s);  // the write went after the poll; the device hung up
      dropped_answered_in_time = dropped->done();
      co_await ctx.sleep_until(ctx.clock().now() + 1s);  // reopened (100 ms backoff), polling again
      stopped = std::make_shared<weft::PendingWrite>("boiler.sp", weft::Value{7.0}, "test");
      writer->submit(stopped);
      while (dev.writes_seen < 2) co_await ctx.sleep_until(ctx.clock().now() + 10ms);  // on the wire now
      runtime.request_stop();
    };
    tasks.spawn(poller.run([] {}));
    tasks.spawn(drive());
    co_await tasks.join();
  }));
  REQUIRE(runtime.run() == weft::kExitOk);

  REQUIRE(early->outcome());
  CHECK_FALSE(early->outcome()->ok);
  CHECK_THAT(early->outcome()->error, Contains("boiler.sp (unit 3, holding register 10, uint16)") &&
                                          Contains("is not open yet"));
  REQUIRE(dropped);
  CHECK(dropped_answered_in_time);
  REQUIRE(dropped->outcome());
  CHECK_FALSE(dropped->outcome()->ok);
  INFO("dropped: " << dropped->outcome()->error);
  CHECK_THAT(dropped->outcome()->error, Contains("write single register 10: End of file"));
  REQUIRE(stopped);
  REQUIRE(stopped->outcome());
  CHECK_FALSE(stopped->outcome()->ok);
  CHECK_THAT(stopped->outcome()->error, Contains("gather stopped while the write was on the wire"));
  CHECK(dev.opens >= 2);
  CHECK(dev.writes_seen == 2);
}
