// heartbeat's ticks never wait for the blocking pool: with the pool's one
// thread held for 600 ms by another service, heartbeat (10 ms period) keeps
// publishing its uptime on time. Before, each tick read the resident memory
// on the pool and waited for it, so it stopped ticking for the whole hold
// and reported the pool's wait as loop lateness. Real clock (the pool's
// hold is real time); the bounds are loose so a loaded machine passes.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/task_group.hpp"

using namespace std::chrono_literals;
using namespace weft;

TEST_CASE("heartbeat: ticks go on while the blocking pool is held by another service", "[heartbeat]") {
  auto assembly = apps::assemble(Config::parse(
      "[weftd]\nblocking_threads = 1\n[service.heartbeat]\nperiod = \"10ms\"\nprefix = \"hb\"\n", "box.toml"));
  assembly.options.handle_signals = false;
  Runtime runtime(assembly.options);
  apps::add_services(runtime, assembly);

  std::int64_t held_from = 0, held_to = 0;
  runtime.add(coroutine_service("hog", {"heartbeat"}, RestartPolicy{},
                                [&](Context& ctx) -> boost::asio::awaitable<void> {
                                  ctx.ready();
                                  held_from = to_ns(ctx.clock().now());
                                  co_await ctx.blocking([] { std::this_thread::sleep_for(600ms); });
                                  held_to = to_ns(ctx.clock().now());
                                  runtime.request_stop();
                                  co_await ctx.sleep(1h);  // until the stop
                                }));
  auto uptime = runtime.bus().subscribe("hb.uptime_s", 10'000);
  runtime.stop_after(30s);  // a bound, never reached when the hog ends
  REQUIRE(runtime.run() == kExitOk);
  REQUIRE(held_to - held_from >= 600'000'000);

  // Ticks published inside the hold, its first 100 ms left out (the first
  // tick may be the one that was due as the hold began).
  int inside = 0;
  while (auto r = uptime.try_receive())
    if (r->mono_ns >= held_from + 100'000'000 && r->mono_ns <= held_to) ++inside;
  INFO("ticks of a 10 ms ticker inside the 500 ms after the hold began: " << inside);
  CHECK(inside >= 10);  // 50 are due; waiting for the pool gives 0
}

// The same while the pool is held as heartbeat starts (weftd's start, a
// restart, a reload): run() reads the resident memory on the pool before
// ready() and before its tick child starts, so no tick is published (and
// heartbeat is not ready) until the pool frees; held past start_timeout it
// fails to start. The first figure should not gate the ticks.
TEST_CASE("heartbeat: ticks start while the blocking pool is held as heartbeat starts", "[heartbeat]") {
  auto assembly = apps::assemble(Config::parse("[weftd]\nblocking_threads = 1\n[service.heartbeat]\nperiod = "
                                               "\"10ms\"\nprefix = \"hb\"\n",
                                               "box.toml"));
  assembly.options.handle_signals = false;
  Runtime runtime(assembly.options);
  std::int64_t held_from = 0, held_to = 0;
  // The pool is taken first, then hog says ready (and heartbeat, which
  // needs it, starts) 50 ms into the hold.
  runtime.add(coroutine_service("hog", {}, RestartPolicy{}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    // Named, so the lambdas (whose captures the coroutines use) outlive them.
    auto hold = [&]() -> boost::asio::awaitable<void> {
      held_from = to_ns(ctx.clock().now());
      co_await ctx.blocking([] { std::this_thread::sleep_for(600ms); });
      held_to = to_ns(ctx.clock().now());
      runtime.request_stop();
      co_await ctx.sleep(1h);  // until the stop
    };
    auto ready_later = [&]() -> boost::asio::awaitable<void> {
      co_await ctx.sleep(50ms);
      ctx.ready();
    };
    TaskGroup steps(ctx.executor());
    steps.spawn(hold());
    steps.spawn(ready_later());
    co_await steps.join();
  }));
  REQUIRE(assembly.services.size() == 1);
  assembly.services[0].spec.needs = {"hog"};  // heartbeat starts as the hold begins
  apps::add_services(runtime, assembly);
  auto uptime = runtime.bus().subscribe("hb.uptime_s", 10'000);
  runtime.stop_after(30s);
  REQUIRE(runtime.run() == kExitOk);
  REQUIRE(held_to - held_from >= 600'000'000);
  int inside = 0;
  while (auto r = uptime.try_receive())
    if (r->mono_ns >= held_from + 150'000'000 && r->mono_ns <= held_to) ++inside;
  INFO("ticks of a 10 ms ticker in the last 450 ms of the hold (heartbeat started 50 ms into it): " << inside);
  CHECK(inside >= 10);  // 45 are due; a read before ready() gives 0
}
