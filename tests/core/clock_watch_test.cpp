// Proves ClockWatch on a VirtualClock: a wall-clock jump beyond the threshold is one event with
// the old and new offsets, slow drift below it is absorbed (never summed into a false warp), the
// history is bounded, and through the Runtime a jump publishes "weft.clock.offset_ns" on the bus.
#include "weft/core/clock_watch.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "weft/core/bus.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using weft::ClockWatch;
using weft::Duration;
using weft::MonoTime;
using weft::VirtualClock;

TEST_CASE("clock watch reports a wall clock jump with old and new offsets", "[clock_watch]") {
  VirtualClock clock;
  ClockWatch watch(clock, 1s);
  const std::int64_t initial = watch.offset_ns();
  CHECK(initial == clock.wall_ns() - weft::to_ns(clock.now()));

  clock.advance_to(clock.now() + 1s);
  CHECK_FALSE(watch.check());  // time passing is not a jump
  CHECK(watch.offset_ns() == initial);

  clock.jump_wall(10s);
  const auto event = watch.check();
  REQUIRE(event);
  CHECK(event->at == clock.now());
  CHECK(event->old_offset_ns == initial);
  CHECK(event->new_offset_ns == initial + std::chrono::nanoseconds(10s).count());
  CHECK(event->new_offset_ns - event->old_offset_ns == 10'000'000'000);
  CHECK(watch.offset_ns() == event->new_offset_ns);
  REQUIRE(watch.events().size() == 1);
  CHECK(watch.events().back().new_offset_ns == event->new_offset_ns);

  CHECK_FALSE(watch.check());  // reported once, not again

  clock.jump_wall(-30s);  // backwards too
  const auto back = watch.check();
  REQUIRE(back);
  CHECK(back->new_offset_ns - back->old_offset_ns == -30'000'000'000);
  CHECK(watch.events().size() == 2);
}

TEST_CASE("clock watch absorbs slow drift below the threshold", "[clock_watch]") {
  VirtualClock clock;
  ClockWatch watch(clock, 1s);
  const std::int64_t initial = watch.offset_ns();
  // 10,000 checks, each with the wall clock drifting 1 ms: 10 s in total, ten times the
  // threshold, but never more than the threshold between two checks.
  for (int i = 0; i < 10'000; ++i) {
    clock.advance_to(clock.now() + 1s);
    clock.jump_wall(1ms);
    REQUIRE_FALSE(watch.check());
  }
  CHECK(watch.events().empty());
  CHECK(watch.offset_ns() == initial + std::chrono::nanoseconds(10s).count());  // followed

  // Exactly the threshold is still drift; just beyond it is a jump.
  clock.jump_wall(1s);
  CHECK_FALSE(watch.check());
  clock.jump_wall(1s + 1ns);
  CHECK(watch.check());
}

TEST_CASE("clock watch keeps a bounded history, newest last", "[clock_watch]") {
  VirtualClock clock;
  ClockWatch watch(clock, 1s);
  for (int i = 1; i <= 100; ++i) {
    clock.advance_to(clock.now() + 1s);
    clock.jump_wall(i % 2 ? 5s : -3s);
    REQUIRE(watch.check());
  }
  REQUIRE(watch.events().size() == ClockWatch::kHistory);
  CHECK(watch.events().back().at == clock.now());
  CHECK(watch.events().back().new_offset_ns == watch.offset_ns());
  // Oldest kept is the 37th event (100 - 64 + 1); events are in time order.
  CHECK(watch.events().front().at == VirtualClock::kStart + 37s);
  for (std::size_t i = 1; i < watch.events().size(); ++i) {
    CHECK(watch.events()[i].at > watch.events()[i - 1].at);
    CHECK(watch.events()[i].old_offset_ns == watch.events()[i - 1].new_offset_ns);
  }
}

TEST_CASE("runtime publishes weft.clock.offset_ns when the virtual wall clock jumps", "[clock_watch]") {
  weft::RuntimeOptions options;
  options.virtual_time = true;
  options.handle_signals = false;
  options.seed = 1;
  options.clock_check_period = 1s;
  options.clock_warp_threshold = 1s;
  weft::Runtime rt(options);

  std::optional<weft::Reading> seen_before_jump, seen;
  std::int64_t offset_before = 0;
  MonoTime jumped_at{}, received_at{};
  bool done = false;

  rt.add(weft::coroutine_service("watcher", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    auto sub = ctx.subscribe("weft.clock.*", 8);
    ctx.ready();
    // Several checks pass without a jump: nothing is published.
    auto quiet = co_await (sub.receive() || ctx.sleep(3500ms));
    if (quiet.index() == 0) seen_before_jump = std::get<0>(quiet);
    offset_before = rt.clock_watch().offset_ns();
    rt.virtual_clock()->jump_wall(10s);
    jumped_at = ctx.clock().now();
    auto r = co_await (sub.receive() || ctx.sleep(5s));
    if (r.index() == 0) {
      seen = std::get<0>(r);
      received_at = ctx.clock().now();
    }
    done = true;
    rt.request_stop();
    co_await ctx.sleep(24h);
  }));
  rt.stop_after(1h);
  REQUIRE(rt.run() == weft::kExitOk);

  REQUIRE(done);
  CHECK_FALSE(seen_before_jump);
  REQUIRE(seen);
  CHECK(seen->point == "weft.clock.offset_ns");
  const std::int64_t new_offset = std::get<std::int64_t>(seen->value);
  CHECK(new_offset - offset_before == 10'000'000'000);
  CHECK(seen->wall_ns - seen->mono_ns == new_offset);
  CHECK(received_at - jumped_at <= 1s + 100ms);  // by the next check (period + its slack)
  REQUIRE(rt.clock_watch().events().size() == 1);
  CHECK(rt.clock_watch().events().back().old_offset_ns == offset_before);
  CHECK(rt.clock_watch().events().back().new_offset_ns == new_offset);
}
