// Tests of weft::Runtime as a whole on the virtual clock: stop_after/request_stop stop
// services in reverse start order within stop_grace (abandoning one that ignores
// cancellation), and blocking work runs off the loop while virtual time stands still.
#include "weft/core/runtime.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include "weft/core/context.hpp"
#include "support/virtual_runtime.hpp"

using Catch::Matchers::Contains;
using boost::asio::awaitable;
using weft::Context;
using weft::Duration;
using weft::MonoTime;
using weft::VirtualClock;
using namespace std::chrono_literals;
using weft::test::ms_since_start;
using weft::test::snapshot_of;
using weft::test::is_operation_aborted;

namespace {
}  // namespace

namespace {

// Ready at once; records its name and the virtual time when its sleep is cancelled.
struct StopRecord {
  std::vector<std::string> order;
  std::vector<MonoTime> at;
};

weft::ServiceSpec well_behaved(std::string name, std::vector<std::string> needs, StopRecord& stops) {
  return weft::coroutine_service(name, std::move(needs), {}, [&stops, name](Context& ctx) -> awaitable<void> {
    ctx.ready();
    try {
      for (;;) co_await ctx.sleep(250ms);
    } catch (const boost::system::system_error& e) {
      if (is_operation_aborted(e)) {
        stops.order.push_back(name);
        stops.at.push_back(ctx.clock().now());
      }
      throw;
    }
  });
}

}  // namespace

// ---- 6. clean stop -----------------------------------------------------------------------

TEST_CASE("stop_after stops services in reverse start order and run() returns kExitOk", "[runtime]") {
  weft::Runtime runtime(weft::test::virtual_options(4242));
  StopRecord stops;
  // Added in the reverse of the start order the needs impose: sensor, store, uplink.
  runtime.add(well_behaved("uplink", {"store"}, stops));
  runtime.add(well_behaved("store", {"sensor"}, stops));
  runtime.add(well_behaved("sensor", {}, stops));
  runtime.stop_after(10s);
  REQUIRE(runtime.run() == weft::kExitOk);

  const std::vector<std::string> expected{"uplink", "store", "sensor"};
  CHECK(stops.order == expected);
  REQUIRE(stops.at.size() == 3);
  for (auto t : stops.at) CHECK(ms_since_start(t) == 10'000);  // well-behaved: no grace needed
  CHECK(ms_since_start(runtime.clock().now()) == 10'000);
  for (const auto& s : runtime.snapshot()) {
    INFO(s.name);
    CHECK(s.state == "stopped");
    CHECK_FALSE(s.ready);
    CHECK(s.last_error.empty());
  }
}

TEST_CASE("request_stop from a service stops everything and run() returns its exit code", "[runtime]") {
  weft::Runtime runtime(weft::test::virtual_options(4242));
  StopRecord stops;
  runtime.add(well_behaved("first", {}, stops));
  runtime.add(well_behaved("second", {"first"}, stops));
  runtime.add(weft::coroutine_service("operator", {"second"}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 3s);
    runtime.request_stop(7);
    for (;;) co_await ctx.sleep(1h);  // cancelled first: it started last
  }));
  runtime.stop_after(1h);  // bound only
  CHECK(runtime.run() == 7);
  const std::vector<std::string> expected{"second", "first"};
  CHECK(stops.order == expected);
  CHECK(ms_since_start(runtime.clock().now()) == 3000);
  CHECK(snapshot_of(runtime, "operator").state == "stopped");
}

TEST_CASE("a service that ignores cancellation is abandoned after stop_grace and run() still returns",
          "[runtime]") {
  weft::RuntimeOptions options = weft::test::virtual_options(4242);
  options.stop_grace = 2s;
  weft::Runtime runtime(options);
  StopRecord stops;
  int ignored = 0;
  int sleeps_after_stop = 0;
  bool stubborn_saw_stop = false;
  // stubborn starts first, so it is asked to stop last, after "client" stopped cleanly.
  runtime.add(weft::coroutine_service("stubborn", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) {
      bool cancelled = false;
      try {
        co_await ctx.sleep(100ms);
        if (stubborn_saw_stop) ++sleeps_after_stop;
      } catch (const boost::system::system_error& e) {
        if (!is_operation_aborted(e)) throw;
        cancelled = true;
      }
      if (cancelled) {
        ++ignored;
        stubborn_saw_stop = true;
        stops.order.push_back("stubborn");
        stops.at.push_back(ctx.clock().now());
        // Ignore it: forget the cancellation and keep looping.
        co_await boost::asio::this_coro::reset_cancellation_state();
      }
    }
  }));
  runtime.add(well_behaved("client", {"stubborn"}, stops));
  runtime.stop_after(10s);
  CHECK(runtime.run() == weft::kExitOk);

  const std::vector<std::string> expected{"client", "stubborn"};
  CHECK(stops.order == expected);
  REQUIRE(stops.at.size() == 2);
  CHECK(ms_since_start(stops.at[0]) == 10'000);
  CHECK(ms_since_start(stops.at[1]) == 10'000);
  CHECK(ignored == 1);
  CHECK(sleeps_after_stop >= 10);  // it really kept running during the grace
  // run() returned when the grace (from the start of the stop) was over.
  CHECK(ms_since_start(runtime.clock().now()) == 12'000);
  CHECK(snapshot_of(runtime, "stubborn").state == "stopped");
  CHECK(snapshot_of(runtime, "client").state == "stopped");
}

TEST_CASE("stop_after measures virtual time: an hour of ticks runs without waiting", "[runtime]") {
  weft::Runtime runtime(weft::test::virtual_options(4242));
  REQUIRE(runtime.virtual_clock() != nullptr);
  std::uint64_t ticks = 0, missed = 0;
  runtime.add(weft::coroutine_service("metronome", {}, {}, [&](Context& ctx) -> awaitable<void> {
    auto ticker = ctx.ticker(1s);
    ctx.ready();
    for (;;) {
      const auto tick = co_await ticker.next();
      ++ticks;
      missed += tick.missed;
    }
  }));
  runtime.stop_after(1h + 500ms);  // between two ticks
  CHECK(runtime.run() == weft::kExitOk);
  CHECK(ms_since_start(runtime.clock().now()) == 3'600'500);
  CHECK(ticks == 3600);
  CHECK(missed == 0);
}

// ---- 9. blocking work --------------------------------------------------------------------

TEST_CASE("blocking_result runs on another thread and resumes on the loop thread", "[runtime]") {
  weft::Runtime runtime(weft::test::virtual_options(4242));
  const auto loop_thread = std::this_thread::get_id();  // run() runs the loop on the caller
  std::optional<std::thread::id> before, worker, after;
  std::optional<int> result;
  std::string rethrown;
  std::optional<std::thread::id> after_error;
  runtime.add(weft::coroutine_service("archivist", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    before = std::this_thread::get_id();
    result = co_await ctx.blocking_result([&] {
      worker = std::this_thread::get_id();
      return 6 * 7;
    });
    after = std::this_thread::get_id();
    try {
      (void)co_await ctx.blocking_result([]() -> int { throw std::runtime_error("disk full"); });
    } catch (const std::runtime_error& e) {
      rethrown = e.what();
    }
    after_error = std::this_thread::get_id();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  CHECK(runtime.run() == weft::kExitOk);

  REQUIRE(result.has_value());
  CHECK(*result == 42);
  REQUIRE(before.has_value());
  REQUIRE(worker.has_value());
  REQUIRE(after.has_value());
  CHECK(*before == loop_thread);
  CHECK(*worker != loop_thread);
  CHECK(*after == loop_thread);
  CHECK(rethrown == "disk full");
  REQUIRE(after_error.has_value());
  CHECK(*after_error == loop_thread);
  const auto s = snapshot_of(runtime, "archivist");
  CHECK(s.restarts == 0);  // the exception was the coroutine's to handle
  CHECK(s.last_error.empty());
}

TEST_CASE("an exception escaping blocking work fails the service with its message", "[runtime]") {
  weft::Runtime runtime(weft::test::virtual_options(4242));
  weft::RestartPolicy policy;
  policy.intensity = 0;  // the first failure escalates
  runtime.add(weft::coroutine_service("fsync", {}, policy, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.blocking([] { throw std::runtime_error("EIO on /data"); });
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  CHECK(runtime.run() == weft::kExitEscalated);
  const auto s = snapshot_of(runtime, "fsync");
  CHECK(s.state == "failed");
  CHECK(s.last_error == "EIO on /data");
}

TEST_CASE("virtual time does not advance while blocking work is in flight", "[runtime]") {
  weft::Runtime runtime(weft::test::virtual_options(4242));
  std::uint64_t ticks = 0;
  std::optional<std::uint64_t> ticks_before, ticks_after;
  std::optional<MonoTime> time_before, time_after;
  std::atomic<bool> work_ran{false};
  runtime.add(weft::coroutine_service("metronome", {}, {}, [&](Context& ctx) -> awaitable<void> {
    auto ticker = ctx.ticker(1ms);
    ctx.ready();
    for (;;) {
      co_await ticker.next();
      ++ticks;
    }
  }));
  runtime.add(weft::coroutine_service("slowpoke", {"metronome"}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    // Between two ticks (ticks are at whole milliseconds), so no tick is due now.
    co_await ctx.sleep_until(VirtualClock::kStart + 10ms + 500us);
    ticks_before = ticks;
    time_before = ctx.clock().now();
    const int value = co_await ctx.blocking_result([&] {
      std::this_thread::sleep_for(50ms);  // real time: 50 virtual ticks if the clock moved
      work_ran = true;
      return 1;
    });
    ticks_after = ticks;
    time_after = ctx.clock().now();
    (void)value;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(100ms);
  CHECK(runtime.run() == weft::kExitOk);

  CHECK(work_ran);
  REQUIRE(ticks_before.has_value());
  REQUIRE(ticks_after.has_value());
  CHECK(*ticks_before == 10);
  CHECK(*ticks_after == *ticks_before);
  CHECK(*time_after == *time_before);
  CHECK(ms_since_start(*time_before) == 10);
  // And time moves on normally afterwards.
  CHECK(ticks >= 95);
}
