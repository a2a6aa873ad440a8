// Proves Ticker on the Runtime's virtual clock: an hour of 10 ms ticks is drift-free (every
// tick exactly start + k*period), a stalled loop gets missed ticks counted and skipped (never
// a burst), and Ticker::next() is cancel-safe under `||` — even when both wake in one expiry.
#include "weft/core/ticker.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <variant>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/timer_queue.hpp"
#include "support/virtual_runtime.hpp"

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using weft::Duration;
using weft::MonoTime;

namespace {

// Runs `body` as one service on a virtual-time runtime; the runtime stops when the body is
// done (or after `limit` of virtual time). Returns run()'s exit code; `done` says the body finished.
int run_body(std::function<boost::asio::awaitable<void>(weft::Context&)> body, bool& done,
             Duration limit = 24h) {
  weft::Runtime rt(weft::test::virtual_options(1));
  rt.add(weft::coroutine_service("probe", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await body(ctx);
    done = true;
    rt.request_stop();
    co_await ctx.sleep(24h);  // until the stop cancels us
  }));
  rt.stop_after(limit);
  return rt.run();
}

}  // namespace

TEST_CASE("ticker is drift-free over a simulated hour", "[ticker]") {
  constexpr Duration kPeriod = 10ms;
  MonoTime start{};
  std::uint64_t ticks = 0, wrong = 0, missed = 0;
  std::int64_t first_wrong_k = -1;
  MonoTime first_wrong_at{};
  std::uint64_t ticker_ticks = 0, ticker_missed_total = 0;

  weft::Runtime rt(weft::test::virtual_options(1));
  rt.add(weft::coroutine_service("ticking", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    start = ctx.clock().now();
    weft::Ticker ticker = ctx.ticker(kPeriod);
    ctx.ready();
    for (std::int64_t k = 1;; ++k) {
      const weft::Tick tick = co_await ticker.next();
      ++ticks;
      missed += tick.missed;
      if (tick.scheduled != start + k * kPeriod || tick.missed != 0) {
        if (wrong++ == 0) {
          first_wrong_k = k;
          first_wrong_at = tick.scheduled;
        }
      }
      ticker_ticks = ticker.ticks();
      ticker_missed_total = ticker.missed_total();
    }
  }));
  rt.stop_after(3600s);
  REQUIRE(rt.run() == weft::kExitOk);

  INFO("first wrong tick k=" << first_wrong_k << " at +" << (first_wrong_at - start).count() << " ns");
  CHECK(wrong == 0);
  CHECK(ticks >= 359'999);
  CHECK(ticks <= 360'001);
  CHECK(missed == 0);
  CHECK(ticker_ticks == ticks);
  CHECK(ticker_missed_total == 0);
  CHECK(rt.clock().now() - start >= 3600s);
  CHECK(rt.clock().now() - start < 3600s + kPeriod);
}

TEST_CASE("ticker counts and skips missed ticks instead of bursting", "[ticker]") {
  constexpr Duration kPeriod = 10ms;
  struct Seen {
    MonoTime scheduled;
    std::uint64_t missed;
    MonoTime woken;
  };
  std::vector<Seen> seen;
  std::uint64_t missed_total = 0, ticker_ticks = 0;
  MonoTime start{};
  bool done = false;

  const int code = run_body(
      [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
        start = ctx.clock().now();
        weft::Ticker ticker = ctx.ticker(kPeriod);
        for (int i = 1; i <= 1000; ++i) {
          const weft::Tick tick = co_await ticker.next();
          seen.push_back({tick.scheduled, tick.missed, ctx.clock().now()});
          if (i % 100 == 0) co_await ctx.sleep(35ms);  // the loop body "takes" 35 ms
        }
        missed_total = ticker.missed_total();
        ticker_ticks = ticker.ticks();
      },
      done, 1h);
  REQUIRE(code == weft::kExitOk);
  REQUIRE(done);
  REQUIRE(seen.size() == 1000);

  // A 35 ms stall after the tick at S (woken just after S) ends after S+30 ms: the tick at
  // S+30 ms is delivered (late), S+10 and S+20 are counted as missed and skipped.
  std::uint64_t sum = 0;
  int stalls = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    INFO("tick #" << i + 1);
    sum += seen[i].missed;
    CHECK(seen[i].woken >= seen[i].scheduled);         // never early
    CHECK(seen[i].woken - seen[i].scheduled < kPeriod);  // and never a whole period late
    CHECK((seen[i].scheduled - start) % kPeriod == Duration::zero());  // still on the grid
    const bool after_stall = i > 0 && i % 100 == 0;
    CHECK(seen[i].missed == (after_stall ? 2u : 0u));
    if (after_stall) ++stalls;
    if (i > 0) {
      // Consecutive ticks are exactly period * (1 + missed) apart: no burst of catch-up ticks.
      CHECK(seen[i].scheduled - seen[i - 1].scheduled ==
            kPeriod * static_cast<std::int64_t>(1 + seen[i].missed));
    }
  }
  CHECK(seen.front().scheduled == start + kPeriod);
  CHECK(stalls == 9);
  CHECK(sum == 18);
  CHECK(missed_total == sum);
  CHECK(ticker_ticks == 1000);
}

TEST_CASE("ticker next() is cancel-safe when raced with a sleep", "[ticker]") {
  MonoTime start{};
  bool done = false;
  std::size_t first_race_winner = 99, second_race_winner = 99;
  MonoTime first_race_end{}, second_race_end{};
  MonoTime deadline_after_first{}, deadline_after_second{};
  std::uint64_t ticks_after_first = 99;
  weft::Tick after_first{}, after_second{}, third{};
  std::size_t queued_before = 0, queued_after = 0;

  const int code = run_body(
      [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
        start = ctx.clock().now();
        weft::Ticker ticker = ctx.ticker(10ms, weft::TickerOptions{.slack = 1ms, .first_delay = std::nullopt});
        queued_before = ctx.timers().size();

        // 1. The sleep (3 ms) wins long before the tick (10 ms).
        auto r1 = co_await (ticker.next() || ctx.sleep(3ms));
        first_race_winner = r1.index();
        first_race_end = ctx.clock().now();
        queued_after = ctx.timers().size();  // the ticker's wait was removed, not left behind
        deadline_after_first = ticker.next_deadline();
        ticks_after_first = ticker.ticks();
        after_first = co_await ticker.next();  // the same tick as the cancelled wait

        // 2. Both due in ONE expiry: the sleep's window [19.99, 20.01] ms closes first, and the
        //    tick's deadline (20 ms) has passed by then. The sleep is woken first (earlier
        //    deadline) and wins; the tick the cancelled wait saw due must not be consumed.
        auto r2 = co_await (ticker.next() || ctx.sleep_until(start + 19'990us, 20us));
        second_race_winner = r2.index();
        second_race_end = ctx.clock().now();
        deadline_after_second = ticker.next_deadline();
        after_second = co_await ticker.next();
        third = co_await ticker.next();
      },
      done);
  REQUIRE(code == weft::kExitOk);
  REQUIRE(done);

  CHECK(first_race_winner == 1);
  CHECK(first_race_end - start >= 3ms);
  CHECK(first_race_end - start <= 3ms + weft::default_slack(3ms));
  CHECK(queued_after == queued_before);
  CHECK(deadline_after_first == start + 10ms);
  CHECK(ticks_after_first == 0);
  CHECK(after_first.scheduled == start + 10ms);
  CHECK(after_first.missed == 0);

  CHECK(second_race_winner == 1);
  CHECK(second_race_end - start == 20'010us);
  CHECK(deadline_after_second == start + 20ms);
  CHECK(after_second.scheduled == start + 20ms);  // not 30 ms: the tick was not lost
  CHECK(after_second.missed == 0);
  CHECK(third.scheduled == start + 30ms);
  CHECK(third.missed == 0);
}
