// The stall monitor: a loop that has not turned past the threshold is
// reported once, naming the running service and its last await site; the
// end of the stall is reported; past the hang threshold the hang hook runs.
// Real time (the monitor is a real-time watchdog); every wait is bounded.
#include "weft/core/stall_monitor.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service_stats.hpp"
#include "support/spin.hpp"

using namespace std::chrono_literals;
using boost::asio::awaitable;

namespace {

std::int64_t steady_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

struct Recorder {
  std::mutex mutex;
  std::vector<weft::StallEvent> stalls, ends, hangs;
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds bound = 5000ms) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard lock(mutex);
        if (pred()) return true;
      }
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
};

weft::StallMonitor::Hooks hooks_for(Recorder& rec, const weft::ServiceStats& known) {
  weft::StallMonitor::Hooks h;
  h.describe = [&known](const weft::LoopTurn& t, weft::StallEvent& e) {
    e.culprit = t.service == &known ? "service 'known'" : "other";
    if (t.site_what != nullptr) e.last_site = t.site_what;
  };
  h.on_stall = [&rec](const weft::StallEvent& e) { std::lock_guard l(rec.mutex); rec.stalls.push_back(e); };
  h.on_stall_end = [&rec](const weft::StallEvent& e) { std::lock_guard l(rec.mutex); rec.ends.push_back(e); };
  h.on_hang = [&rec](const weft::StallEvent& e) { std::lock_guard l(rec.mutex); rec.hangs.push_back(e); };
  return h;
}

}  // namespace

TEST_CASE("a loop that stops turning is reported once, with its service, then its end", "[stall]") {
  weft::LoopBeacon beacon;
  weft::ServiceStats stats;
  Recorder rec;
  weft::StallMonitor monitor(beacon, {30ms, 1h, 2ms, {}}, hooks_for(rec, stats));
  beacon.turn(&stats, steady_ns(), "ticker", "x.cpp", 1);  // "known" resumes from a tick and never yields
  monitor.start();

  REQUIRE(rec.wait_for([&] { return !rec.stalls.empty(); }));
  std::this_thread::sleep_for(50ms);  // more polls of the same stall: still one report
  {
    std::lock_guard l(rec.mutex);
    REQUIRE(rec.stalls.size() == 1);
    CHECK(rec.stalls[0].culprit == "service 'known'");
    CHECK(rec.stalls[0].last_site == "ticker");
    CHECK(rec.stalls[0].stalled_for > 30ms);
    CHECK_FALSE(rec.stalls[0].hang);
  }
  CHECK(monitor.counters().stalls == 1);
  CHECK(monitor.counters().stalled_now);

  beacon.turn(nullptr, steady_ns());  // the slice ends
  REQUIRE(rec.wait_for([&] { return !rec.ends.empty(); }));
  {
    std::lock_guard l(rec.mutex);
    CHECK(rec.ends[0].culprit == "service 'known'");
    CHECK(rec.hangs.empty());
  }
  CHECK_FALSE(monitor.counters().stalled_now);
  monitor.stop();
}

TEST_CASE("a loop that stays stuck past the hang threshold is a hang", "[stall]") {
  weft::LoopBeacon beacon;
  weft::ServiceStats stats;
  Recorder rec;
  weft::StallMonitor monitor(beacon, {20ms, 80ms, 2ms, {}}, hooks_for(rec, stats));
  beacon.turn(nullptr, steady_ns());  // stuck outside any service
  monitor.start();
  REQUIRE(rec.wait_for([&] { return !rec.hangs.empty(); }));
  monitor.stop();
  std::lock_guard l(rec.mutex);
  REQUIRE(rec.hangs.size() == 1);
  CHECK(rec.hangs[0].hang);
  CHECK(rec.hangs[0].culprit == "other");
  CHECK(rec.hangs[0].stalled_for > 80ms);
}

// wake() is how a queued systemd message (READY=1) goes out now rather
// than at the next poll: with an hour between polls, each wake is a poll.
TEST_CASE("wake() runs a poll now, not at the next period", "[stall]") {
  weft::LoopBeacon beacon;
  beacon.turn(nullptr, steady_ns());
  std::mutex mutex;
  int polls = 0;
  weft::StallMonitor::Hooks hooks;
  hooks.on_poll = [&](bool) {
    std::lock_guard l(mutex);
    ++polls;
  };
  weft::StallMonitor monitor(beacon, {1h, 2h, 1h, {}}, std::move(hooks));
  monitor.start();
  auto polls_reach = [&](int n) {
    for (int i = 0; i < 2500; ++i) {  // 5 s at most
      {
        std::lock_guard l(mutex);
        if (polls >= n) return true;
      }
      std::this_thread::sleep_for(2ms);
    }
    return false;
  };
  {
    std::lock_guard l(mutex);
    REQUIRE(polls == 0);  // the first timed poll is an hour away
  }
  monitor.wake();
  REQUIRE(polls_reach(1));
  monitor.wake();
  REQUIRE(polls_reach(2));
  monitor.stop();
  std::lock_guard l(mutex);
  CHECK(polls == 2);
}

TEST_CASE("an idle loop is not a stall: the probe keeps it turning", "[stall]") {
  weft::RuntimeOptions options;
  options.handle_signals = false;
  options.stall_threshold = 40ms;
  options.hang_threshold = 10s;
  weft::Runtime runtime(options);
  runtime.add(weft::coroutine_service("idle", {}, {}, [](weft::Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(400ms);
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(runtime.stall_counters().stalls == 0);
}

TEST_CASE("a service that busy-loops 300 ms is named by the stall monitor", "[stall]") {
  weft::RuntimeOptions options;
  options.handle_signals = false;
  options.stall_threshold = 50ms;
  options.hang_threshold = 30s;  // no hang exit here
  weft::Runtime runtime(options);
  std::uint32_t sleep_line = 0;
  std::uint64_t stalls_seen = 0;
  runtime.add(weft::coroutine_service("bystander", {}, {}, [](weft::Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) co_await ctx.sleep(10ms);
  }));
  runtime.add(weft::coroutine_service("busy", {}, {}, [&](weft::Context& ctx) -> awaitable<void> {
    ctx.ready();
    sleep_line = __LINE__; co_await ctx.sleep(20ms);
    // 300 ms, and on a machine so loaded that the monitor thread did not get
    // to run meanwhile, on until it has (bounded: 10 s).
    const auto started = std::chrono::steady_clock::now();
    weft::test::spin(300ms);
    while (runtime.stall_counters().stalls == 0 && std::chrono::steady_clock::now() - started < 10s) weft::test::spin(1ms);
    co_await ctx.sleep(1ms);  // let the monitor see the loop turn again
    for (int i = 0; i < 500 && runtime.stall_counters().stalled_now; ++i) co_await ctx.sleep(2ms);
    stalls_seen = runtime.stall_counters().stalls;
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  REQUIRE(stalls_seen == 1);
  const weft::StallCounters c = runtime.stall_counters();
  REQUIRE(c.last.has_value());
  CHECK(c.last->culprit == "service 'busy'");
  CHECK(c.last->stalled_for > 50ms);
  CHECK_FALSE(c.last->hang);
  INFO(c.last->last_site);
  CHECK(c.last->last_site.find("sleep at ") == 0);
  CHECK(c.last->last_site.find("stall_monitor_test.cpp:" + std::to_string(sleep_line)) != std::string::npos);
  CHECK_FALSE(c.stalled_now);
}
