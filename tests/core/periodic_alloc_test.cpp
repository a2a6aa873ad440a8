// The runtime's own periodic paths allocate nothing once warm (issue 17):
// a 1 ms ticker through the timer queue, with the runtime's clock check
// (once a second) due inside the window. Every operator new on the loop
// thread over 1,500 ticks after 200 of warm-up is counted
// (weft::thread_allocations, read on the loop thread itself). On the
// virtual clock, so that the window is exact and holds the clock check.
// Not covered, because they do allocate today (the issue 17 note has the
// figures): the health monitor's once-a-second hang snapshot and STATUS=
// on the real clock (about 6 allocations a second), and a bus publish of
// a number to an existing point (about 2.25 allocations with one
// subscriber: the point name copied by Context::publish, again into the
// subscriber's queue and again out of it, plus deque blocks).
#include <catch2/catch.hpp>

#include <chrono>

#include "support/virtual_runtime.hpp"
#include "weft/core/context.hpp"
#include "weft/core/critical_section.hpp"
#include "weft/core/service.hpp"

using namespace std::chrono_literals;

namespace weft {

TEST_CASE("periodic paths: the ticker, the timer queue and the clock check allocate nothing when warm",
          "[realtime][alloc]") {
  Runtime runtime(test::virtual_options());
  std::uint64_t before = 0, after = 0;
  std::uint64_t ticks = 0;
  MonoTime window_start{}, window_end{};
  runtime.add(coroutine_service("control", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    Ticker ticker = ctx.ticker(1ms);
    ctx.ready();
    for (int k = 0; k < 1700; ++k) {
      (void)co_await ticker.next();
      if (k == 200) {
        before = thread_allocations();
        window_start = ctx.clock().now();
      }
      ++ticks;
    }
    after = thread_allocations();
    window_end = ctx.clock().now();
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == kExitOk);
  REQUIRE(ticks == 1700);
  REQUIRE(window_end - window_start >= 1s);  // at least one clock check inside
  INFO("allocations on the loop thread over 1,500 warm ticks: " << after - before);
  CHECK(after - before == 0);
}

}  // namespace weft
