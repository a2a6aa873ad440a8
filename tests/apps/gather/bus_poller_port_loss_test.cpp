// BusPoller when the port fails under it (virtual clock): a read fails
// with EIO in the middle of an answer (3 of its 7 bytes delivered), as a
// USB adapter yanked mid-frame does. The port must go `open -> absent`
// with one log line naming it, the instrument's points go out as
// comm-error (carrying the last good value), every reopen attempt waits
// the configured back-off (reopen_min doubling to reopen_max: no busy
// loop, exactly as many attempts as the back-off allows), the attempts
// while it is gone are silent, and when the device is back the port
// reopens (`absent -> open`) and polling resumes with good readings; the
// good polls reset the back-off, so a second cut is retried after
// reopen_min again.
// A port that opens fine and fails on its first read every time (a dying
// adapter) is reopened on the same growing back-off, not every reopen_min:
// only a good exchange on the port resets the back-off, not an open.
#include "weft/apps/gather/bus_poller.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/pipe_stream.hpp"
#include "weft/drivers/sim/modbus_device.hpp"

using namespace std::chrono_literals;

// Named, not anonymous: the tests are built as unity chunks.
namespace port_loss_test {

const char* const kConfig = R"([service.gather]
[[serial]]
name = "rs485"
path = "/dev/ttyGONE0"
baud = 19200
retries = 0
reopen_min = "100ms"
reopen_max = "400ms"
[[instrument]]
name = "boiler"
port = "rs485"
unit = 3
period = "1s"
quarantine_after = 100
  [[instrument.point]]
  name = "t"
  address = 100
  sim = { model = "constant", value = 42 }
)";

// What the test arranges and what it saw.
struct Line {
  int cut_partial = -1;         // >= 0: deliver this many more bytes, then fail every read with EIO
  bool failed = false;          // an EIO was delivered
  std::int64_t failed_ms = -1;  // virtual time of the first EIO
  std::vector<std::int64_t> cut_ms;  // virtual time of each stream's first EIO
  int absent_attempts = 5;      // opens after the EIO that find no device
  bool dead_on_open = false;    // every open succeeds and its first read fails with EIO (a dying adapter)
  std::vector<std::int64_t> open_ms;  // virtual time of every open attempt
  int eio_reads = 0;
};

// The master's end of the pipe, with the fault: once armed, reads pass at
// most `cut_partial` bytes, then every read fails with EIO. Cancellation
// reaches the inner read (the slot is carried over), so `read || timer`
// still completes when the timer wins.
class CuttingStream final : public weft::ByteStream {
public:
  CuttingStream(std::unique_ptr<weft::PipeEnd> inner, Line& line, weft::Context& ctx)
      : inner_(std::move(inner)), line_(line), ctx_(ctx) {}
  executor_type get_executor() override { return inner_->get_executor(); }
  void cancel() override { inner_->cancel(); }
  std::size_t discard_input() override { return inner_->discard_input(); }

protected:
  void read_some(boost::asio::mutable_buffer buffer, IoHandler handler) override {
    if (line_.cut_partial == 0) {
      if (!line_.failed) line_.failed_ms = weft::test::ms_since_start(ctx_.clock().now());
      if (!std::exchange(cut_, true)) line_.cut_ms.push_back(weft::test::ms_since_start(ctx_.clock().now()));
      ++line_.eio_reads;
      line_.failed = true;
      boost::asio::post(get_executor(), [h = std::move(handler)]() mutable {
        std::move(h)(boost::system::error_code(EIO, boost::system::system_category()), 0);
      });
      return;
    }
    if (line_.cut_partial > 0) buffer = boost::asio::buffer(buffer, static_cast<std::size_t>(line_.cut_partial));
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    inner_->async_read_some(buffer, boost::asio::bind_cancellation_slot(
                                        slot, [this, h = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
                                          if (line_.cut_partial > 0) line_.cut_partial -= static_cast<int>(n);
                                          std::move(h)(ec, n);
                                        }));
  }
  void write_some(boost::asio::const_buffer buffer, IoHandler handler) override {
    inner_->async_write_some(buffer, std::move(handler));
  }

private:
  std::unique_ptr<weft::PipeEnd> inner_;
  Line& line_;
  weft::Context& ctx_;
  bool cut_ = false;  // this stream delivered its EIO
};

// The device on the other end: a simulated bus on a fresh pipe per open;
// after the cut, `absent_attempts` opens find nothing (ENOENT), as for an
// unplugged adapter, then it is back.
class VanishingPort final : public weft::apps::PortBinding {
public:
  VanishingPort(const weft::apps::GatherConfig& config, weft::TaskGroup& devices, Line& line)
      : config_(config), devices_(devices), line_(line) {}

  boost::asio::awaitable<weft::apps::OpenedPort> open(weft::Context& ctx) override {
    line_.open_ms.push_back(weft::test::ms_since_start(ctx.clock().now()));
    if (line_.failed && line_.absent_attempts > 0) {
      --line_.absent_attempts;
      co_return weft::apps::OpenedPort{
          nullptr, weft::serial::PortError{weft::serial::PortErrorKind::not_found, ENOENT,
                                            "/dev/ttyGONE0: No such file or directory (unplugged?)"}};
    }
    line_.cut_partial = line_.dead_on_open ? 0 : -1;  // a new device: no fault armed, unless it is dead
    const auto& port = config_.ports.at(0);
    buses_.push_back(std::make_unique<weft::sim::SimBus>(weft::apps::simulated_units(config_, port.name),
                                                         weft::apps::line_settings(port), 7));
    auto [master_end, device_end] = weft::make_pipe(ctx.executor());
    devices_.spawn(serve(*buses_.back(), std::move(device_end), ctx.timers()));
    co_return weft::apps::OpenedPort{std::make_unique<CuttingStream>(std::move(master_end), line_, ctx), std::nullopt};
  }

private:
  static boost::asio::awaitable<void> serve(weft::sim::SimBus& bus, std::unique_ptr<weft::PipeEnd> end,
                                            weft::TimerQueue& timers) {
    co_await bus.serve(*end, timers);
  }

  const weft::apps::GatherConfig& config_;
  weft::TaskGroup& devices_;
  Line& line_;
  std::vector<std::unique_ptr<weft::sim::SimBus>> buses_;  // one per open, kept: their serve() may still run
};

std::string bus_log_since(std::uint64_t after) {
  weft::logging::flush();
  std::string out;
  for (const auto& l : weft::logging::recent_lines(after, weft::logging::kRingLines, "bus")) out += l.text + "\n";
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace port_loss_test

TEST_CASE("a read failing with EIO mid-frame: port absent, points comm-error, reopen on the back-off, polling resumes",
          "[gather][modbus][serial]") {
  using namespace port_loss_test;
  const weft::Config config = weft::Config::parse(kConfig, "loss.toml");
  const auto root = config.root();
  const weft::apps::GatherConfig gather = weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
  Line line;
  std::vector<weft::Reading> readings;
  const std::uint64_t log_before = weft::logging::last_line_seq();
  weft::Runtime runtime(weft::test::virtual_options());
  runtime.add(weft::coroutine_service("bus", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    weft::TaskGroup tasks(ctx.executor());
    weft::apps::BusPoller poller(ctx, gather.ports.at(0), {&gather.instruments.at(0)},
                                 std::make_unique<VanishingPort>(gather, tasks, line));
    weft::Subscription sub = ctx.subscribe("boiler.*", 256);
    ctx.ready();
    // Named: the coroutine refers to the lambda's captures, so it must outlive the join.
    auto cut_then_stop = [&]() -> boost::asio::awaitable<void> {
      co_await ctx.sleep_until(ctx.clock().now() + 2500ms);  // good polls at 0, 1 and 2 s
      line.cut_partial = 3;                                  // the 3 s answer: 3 of its 7 bytes, then EIO
      co_await ctx.sleep_until(ctx.clock().now() + 6000ms);  // gone ~1.5 s, then polled again
      while (auto r = sub.try_receive()) readings.push_back(std::move(*r));
      line.cut_partial = 3;  // a second cut at 9 s, one open finding nothing
      line.absent_attempts = 1;
      co_await ctx.sleep_until(ctx.clock().now() + 1500ms);
      runtime.request_stop();
    };
    tasks.spawn(poller.run([] {}));
    tasks.spawn(cut_then_stop());
    co_await tasks.join();
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  const std::string log = bus_log_since(log_before);
  INFO("log:\n" << log);

  // The cut landed in the 3 s poll's answer.
  REQUIRE(line.failed);
  CHECK(line.failed_ms >= 3000);
  CHECK(line.failed_ms < 3100);

  // Opens: the first at 0, five that found no device, the one that found
  // it; after the second cut one that found nothing and one that did.
  REQUIRE(line.open_ms.size() == 9);
  CHECK(line.open_ms.front() == 0);
  const std::int64_t backoff_ms[] = {100, 200, 400, 400, 400, 400};  // reopen_min doubling to reopen_max
  std::int64_t previous = line.failed_ms;
  for (std::size_t k = 0; k < 6; ++k) {  // open_ms[1..6]
    const std::int64_t gap = line.open_ms[k + 1] - previous;
    INFO("open attempt " << k + 1 << " after the EIO came " << gap << " ms after the previous event");
    CHECK(gap >= backoff_ms[k]);
    CHECK(gap <= backoff_ms[k] + 20);
    previous = line.open_ms[k + 1];
  }

  // The good polls in between reset the back-off: reopen_min again.
  REQUIRE(line.cut_ms.size() == 2);
  CHECK(line.cut_ms[1] >= 9000);
  CHECK(line.cut_ms[1] < 9100);
  CHECK(line.open_ms[7] - line.cut_ms[1] >= 100);
  CHECK(line.open_ms[7] - line.cut_ms[1] <= 120);
  CHECK(line.open_ms[8] - line.open_ms[7] >= 200);
  CHECK(line.open_ms[8] - line.open_ms[7] <= 220);

  // One line per state change, naming the port and its path; the retries are silent.
  CHECK(count(log, "port rs485 (/dev/ttyGONE0): closed -> open") == 1);
  CHECK(count(log, "port rs485 (/dev/ttyGONE0): open -> absent: Input/output error") == 2);
  CHECK(count(log, "port rs485 (/dev/ttyGONE0): absent -> open") == 2);
  CHECK(count(log, "port rs485") == 5);

  // Readings: good until the cut, comm-error with the last good value while
  // gone (the failed poll, then one per failed open), good again after.
  const std::int64_t reopened_ms = line.open_ms[6];
  int good_before = 0, failed = 0, good_after = 0;
  for (const auto& r : readings) {
    REQUIRE(r.point == "boiler.t");
    const std::int64_t at = weft::test::ms_since_start(weft::MonoTime(std::chrono::nanoseconds(r.mono_ns)));
    INFO("reading at " << at << " ms, quality " << weft::to_string(r.quality));
    CHECK(r.value == weft::Value{42.0});
    if (r.quality == weft::Quality::good) {
      (at < line.failed_ms ? good_before : good_after)++;
      CHECK((at < line.failed_ms || at >= reopened_ms));
    } else {
      CHECK(r.quality == weft::Quality::comm_error);
      CHECK(at >= line.failed_ms);
      CHECK(at < reopened_ms + 100);
      ++failed;
    }
  }
  CHECK(good_before == 3);
  CHECK(failed == 6);
  CHECK(good_after >= 3);
}

TEST_CASE("a port that opens but fails its first read every time is reopened on a growing back-off",
          "[gather][modbus][serial]") {
  using namespace port_loss_test;
  const weft::Config config = weft::Config::parse(kConfig, "dying.toml");
  const auto root = config.root();
  const weft::apps::GatherConfig gather = weft::apps::read_gather_config(root, *root.table("service")->table("gather"));
  Line line;
  line.dead_on_open = true;
  line.absent_attempts = 0;
  const std::uint64_t log_before = weft::logging::last_line_seq();
  weft::Runtime runtime(weft::test::virtual_options());
  runtime.add(weft::coroutine_service("bus", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    weft::TaskGroup tasks(ctx.executor());
    weft::apps::BusPoller poller(ctx, gather.ports.at(0), {&gather.instruments.at(0)},
                                 std::make_unique<VanishingPort>(gather, tasks, line));
    ctx.ready();
    auto wait_then_stop = [&]() -> boost::asio::awaitable<void> {
      co_await ctx.sleep_until(ctx.clock().now() + 3050ms);
      runtime.request_stop();
    };
    tasks.spawn(poller.run([] {}));
    tasks.spawn(wait_then_stop());
    co_await tasks.join();
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  const std::string log = bus_log_since(log_before);
  INFO("log:\n" << log);

  // Opens at 0, then 100, 300, 700, 1100, ... ms: reopen_min doubling to
  // reopen_max, as for a port that is gone; 9 within 3.05 s, not 31.
  std::vector<std::int64_t> gaps;
  for (std::size_t k = 1; k < line.open_ms.size(); ++k) gaps.push_back(line.open_ms[k] - line.open_ms[k - 1]);
  INFO("gaps between opens (ms): " << Catch::Detail::stringify(gaps));
  REQUIRE(line.open_ms.size() == 9);
  const std::int64_t backoff_ms[] = {100, 200, 400, 400, 400, 400, 400, 400};
  for (std::size_t k = 0; k < gaps.size(); ++k) {
    CHECK(gaps[k] >= backoff_ms[k]);
    CHECK(gaps[k] <= backoff_ms[k] + 20);
  }
  CHECK(line.eio_reads == 9);  // one failed read per open: the dead stream is not read again
  // Each cycle is two state changes; their number is bounded by the back-off too.
  CHECK(count(log, "open -> absent: Input/output error") == 9);
}
