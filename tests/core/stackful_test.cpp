// Tests of stackful services (weft/core/stackful.hpp) on the virtual clock: they sleep and
// tick through the runtime's timers, gate dependents with ready(), are restarted with
// backoff after a throw (its what() in last_error) and are cancelled by a stop;
// overflowing the stack is a SIGSEGV that the crash report blames on the service.
#include "weft/core/stackful.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/system/system_error.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/crash_report.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using boost::asio::awaitable;
using boost::asio::yield_context;
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

// Each frame holds 1 KiB that it writes and reads back after the call, so
// the recursion is real (no tail call, no loop) and every frame is touched.
[[gnu::noipa]] int recurse_deep(int depth) {
  volatile char frame[1024];
  for (std::size_t i = 0; i < sizeof frame; i += 64) frame[i] = static_cast<char>(depth);
  const int below = depth > 0 ? recurse_deep(depth - 1) : 0;
  return below + frame[depth % 16 * 64];
}

// Waits at most `limit` for `pid`; kills it (and fails) if it is still running.
int wait_bounded(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    REQUIRE(r >= 0);
    if (r == pid) return status;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL("the child did not exit within " << limit.count() << " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

// The stack is 64 KiB; 128 frames of 1 KiB go past its end. Without a guard
// page the recursion scribbles over whatever lies below the stack and may
// return normally (the child then exits 0).
TEST_CASE("a stackful service that overflows its stack dies by SIGSEGV and the crash report names it",
          "[stackful][crash]") {
  std::string dir = (std::filesystem::temp_directory_path() / "weft-stackful-XXXXXX").string();
  REQUIRE(::mkdtemp(dir.data()) != nullptr);
  weft::logging::flush();  // the log thread idle: the child inherits no held log lock
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    weft::RuntimeOptions options = weft::test::virtual_options(777);
    options.data_dir = dir;  // the lock, and the crash handlers on this (the loop) thread
    weft::Runtime runtime(options);
    runtime.add(weft::stackful_service("deep", {}, {}, [](Context& ctx, yield_context yield) {
      ctx.ready();
      weft::sleep(ctx, 10ms, yield);
      recurse_deep(128);
      ctx.log().info("recursion returned");
      for (;;) weft::sleep(ctx, 1h, yield);
    }));
    runtime.stop_after(1s);
    ::_exit(runtime.run() == weft::kExitOk ? 0 : 3);
  }
  const int status = wait_bounded(pid, std::chrono::seconds(60));
  INFO("wait status " << status);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);

  const auto reports = weft::crash::decode_pending(dir + "/crash");
  REQUIRE(reports.size() == 1);
  CHECK_THAT(reports[0].cause, Catch::Matchers::StartsWith("SIGSEGV (fault address 0x"));
  CHECK(reports[0].service == "deep");
  CHECK_THAT(reports[0].where, Contains("recurse_deep"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a stackful service sleeps on the virtual clock and its ready() gates its dependents", "[stackful]") {
  weft::Runtime runtime(weft::test::virtual_options(777));
  std::vector<std::int64_t> wakes;  // virtual ms of each wake of the stackful service
  std::optional<MonoTime> ready_at, coroutine_started, stackful_dependent_started;

  runtime.add(weft::stackful_service("serial", {}, {}, [&](Context& ctx, yield_context yield) {
    weft::sleep(ctx, 3s, yield);  // e.g. waiting for a device to boot
    ready_at = ctx.clock().now();
    ctx.ready();
    for (;;) {
      weft::sleep(ctx, 500ms, yield);
      wakes.push_back(ms_since_start(ctx.clock().now()));
    }
  }));
  runtime.add(weft::coroutine_service("parser", {"serial"}, {}, [&](Context& ctx) -> awaitable<void> {
    coroutine_started = ctx.clock().now();
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::stackful_service("logger", {"parser"}, {}, [&](Context& ctx, yield_context yield) {
    stackful_dependent_started = ctx.clock().now();
    ctx.ready();
    for (;;) weft::sleep(ctx, 1h, yield);
  }));
  runtime.stop_after(5200ms);
  CHECK(runtime.run() == weft::kExitOk);

  // weft::sleep(d) has a slack of 1 % (at most 5 ms): woken within [d, d + 5 ms].
  REQUIRE(ready_at.has_value());
  CHECK(ms_since_start(*ready_at) >= 3000);
  CHECK(ms_since_start(*ready_at) <= 3005);
  // Dependents start as soon as it is ready, not before.
  REQUIRE(coroutine_started.has_value());
  CHECK(*coroutine_started == *ready_at);
  REQUIRE(stackful_dependent_started.has_value());
  CHECK(*stackful_dependent_started == *ready_at);
  REQUIRE(wakes.size() == 4);
  std::int64_t previous = ms_since_start(*ready_at);
  for (const std::int64_t wake : wakes) {
    CHECK(wake - previous >= 500);
    CHECK(wake - previous <= 505);
    previous = wake;
  }
  for (const auto& s : runtime.snapshot()) CHECK(s.state == "stopped");
}

TEST_CASE("next_tick delivers drift-free ticks to a stackful service", "[stackful]") {
  weft::Runtime runtime(weft::test::virtual_options(777));
  std::vector<MonoTime> scheduled;
  std::uint64_t missed = 0;
  runtime.add(weft::stackful_service("poller", {}, {}, [&](Context& ctx, yield_context yield) {
    weft::Ticker ticker = ctx.ticker(250ms);
    ctx.ready();
    for (;;) {
      const weft::Tick tick = weft::next_tick(ticker, ctx, yield);
      scheduled.push_back(tick.scheduled);
      missed += tick.missed;
    }
  }));
  runtime.stop_after(10s + 100ms);
  CHECK(runtime.run() == weft::kExitOk);
  REQUIRE(scheduled.size() == 40);
  for (std::size_t i = 0; i < scheduled.size(); ++i)
    CHECK(scheduled[i] - VirtualClock::kStart == 250ms * static_cast<int>(i + 1));
  CHECK(missed == 0);
}

TEST_CASE("a stackful service that throws is restarted with backoff, logged, and escalated", "[stackful]") {
  weft::Runtime runtime(weft::test::virtual_options(777));
  std::vector<MonoTime> starts;
  std::optional<weft::ServiceSnapshot> during_backoff;
  weft::RestartPolicy policy;
  policy.min_backoff = 200ms;
  policy.max_backoff = 10s;
  policy.intensity = 2;
  runtime.add(weft::stackful_service("modem", {}, policy, [&](Context& ctx, yield_context yield) {
    starts.push_back(ctx.clock().now());
    ctx.ready();
    weft::sleep(ctx, 1s, yield);
    throw std::runtime_error("AT+CSQ: no answer");
  }));
  runtime.add(weft::coroutine_service("observer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 1050ms);
    during_backoff = snapshot_of(runtime, "modem");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1h);
  CHECK(runtime.run() == weft::kExitEscalated);

  REQUIRE(during_backoff.has_value());
  CHECK(during_backoff->state == "backoff");
  CHECK(during_backoff->last_error == "AT+CSQ: no answer");

  REQUIRE(starts.size() == 3);
  // Each run sleeps ~1 s (plus at most 5 ms slack) and throws; then backoff.
  const Duration gap1 = starts[1] - starts[0] - 1s;
  const Duration gap2 = starts[2] - starts[1] - 1s;
  CHECK(gap1 >= 100ms);
  CHECK(gap1 <= 200ms + 5ms);
  CHECK(gap2 >= 200ms);
  CHECK(gap2 <= 400ms + 5ms);
  const auto s = snapshot_of(runtime, "modem");
  CHECK(s.state == "failed");
  CHECK(s.restarts == 2);
  CHECK(s.last_error == "AT+CSQ: no answer");
}

TEST_CASE("stopping a stackful service cancels its sleep, and starting it runs it again", "[stackful]") {
  weft::Runtime runtime(weft::test::virtual_options(777));
  int runs = 0, aborted = 0, wakes = 0, neighbour_ticks = 0;
  int wakes_at_stop = -1, wakes_before_start = -1, neighbour_at_stop = -1, neighbour_before_start = -1;
  std::string state_after_stop;
  bool stopped = false, started = false;
  runtime.add(weft::stackful_service("gps", {}, {}, [&](Context& ctx, yield_context yield) {
    ++runs;
    ctx.ready();
    try {
      for (;;) {
        weft::sleep(ctx, 10ms, yield);
        ++wakes;
      }
    } catch (const boost::system::system_error& e) {
      if (is_operation_aborted(e)) ++aborted;
      throw;
    }
  }));
  runtime.add(weft::stackful_service("neighbour", {}, {}, [&](Context& ctx, yield_context yield) {
    weft::Ticker ticker = ctx.ticker(10ms);
    ctx.ready();
    for (;;) {
      weft::next_tick(ticker, ctx, yield);
      ++neighbour_ticks;
    }
  }));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 105ms);
    stopped = runtime.stop_service("gps");
    wakes_at_stop = wakes;
    neighbour_at_stop = neighbour_ticks;
    co_await ctx.sleep_until(VirtualClock::kStart + 305ms);
    state_after_stop = snapshot_of(runtime, "gps").state;
    wakes_before_start = wakes;
    neighbour_before_start = neighbour_ticks;
    started = runtime.start_service("gps");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(505ms);
  CHECK(runtime.run() == weft::kExitOk);

  CHECK(stopped);
  CHECK(state_after_stop == "stopped");
  CHECK(wakes_before_start == wakes_at_stop);                  // nothing ran while stopped
  CHECK(neighbour_before_start >= neighbour_at_stop + 19);     // the other kept ticking
  CHECK(started);
  CHECK(runs == 2);
  CHECK(wakes >= wakes_before_start + 19);                     // 200 ms more of 10 ms sleeps
  CHECK(aborted == 2);                                         // stop_service, then the final stop
  const auto s = snapshot_of(runtime, "gps");
  CHECK(s.state == "stopped");
  CHECK(s.restarts == 0);
  CHECK(s.last_error.empty());
}

TEST_CASE("a stackful sleep records its await site", "[stackful]") {
  weft::Runtime runtime(weft::test::virtual_options(777));
  std::uint32_t sleep_line = 0;
  std::optional<weft::ServiceSnapshot> seen;
  runtime.add(weft::stackful_service("dozer", {}, {}, [&](Context& ctx, yield_context yield) {
    ctx.ready();
    for (;;) { sleep_line = __LINE__; weft::sleep(ctx, 1s, yield); }
  }));
  runtime.add(weft::coroutine_service("observer", {"dozer"}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(2500ms);
    seen = snapshot_of(runtime, "dozer");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(3s);
  CHECK(runtime.run() == weft::kExitOk);
  REQUIRE(seen.has_value());
  const weft::AwaitSite& site = seen->stats.site;
  REQUIRE_FALSE(site.empty());
  CHECK(std::string(site.what) == "sleep");
  CHECK_THAT(std::string(site.file), EndsWith("stackful_test.cpp"));
  CHECK(site.line == sleep_line);
  CHECK(ms_since_start(site.since) >= 2000);  // the third sleep began at 2 s (plus slack)
  CHECK(ms_since_start(site.since) <= 2010);
  CHECK(seen->stats.slices > 0);
}
