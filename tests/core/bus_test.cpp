// Proves the point bus: a full queue drops its OLDEST reading (counted) and never blocks the
// publisher, glob patterns route, subscribers are independent, stats add up, a parked receiver
// is woken by publish, and receive() raced with a sleep under `||` loses no reading.
#include "weft/core/bus.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <variant>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/timer_queue.hpp"
#include "support/virtual_runtime.hpp"

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using weft::Bus;
using weft::Duration;
using weft::MonoTime;
using weft::Reading;

namespace {

Reading reading(std::string point, std::int64_t v) {
  Reading r;
  r.point = std::move(point);
  r.value = v;
  return r;
}

std::int64_t value_of(const Reading& r) { return std::get<std::int64_t>(r.value); }

std::vector<std::int64_t> drain(weft::Subscription& sub) {
  std::vector<std::int64_t> out;
  while (auto r = sub.try_receive()) out.push_back(value_of(*r));
  return out;
}

}  // namespace

TEST_CASE("bus drops the oldest readings of a slow subscriber", "[bus]") {
  weft::VirtualClock clock;
  Bus bus(clock);
  auto slow = bus.subscribe("press.*", 4);
  auto fast = bus.subscribe("press.*", 4);
  CHECK(slow.capacity() == 4);
  CHECK(slow.pattern() == "press.*");

  std::vector<std::int64_t> fast_got;
  for (std::int64_t i = 1; i <= 10; ++i) {
    bus.publish(reading("press.temp", i));  // returns at once: the publisher never waits
    CHECK(slow.depth() == static_cast<std::size_t>(std::min<std::int64_t>(i, 4)));
    auto r = fast.try_receive();
    REQUIRE(r);
    fast_got.push_back(value_of(*r));
  }
  CHECK(drain(slow) == std::vector<std::int64_t>{7, 8, 9, 10});  // the newest four, in order
  CHECK(slow.dropped() == 6);
  CHECK(slow.depth() == 0);
  CHECK_FALSE(slow.try_receive());

  // The fast subscriber is unaffected by the slow one.
  CHECK(fast_got == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(fast.dropped() == 0);

  const weft::BusStats s = bus.stats();
  CHECK(s.published == 10);
  CHECK(s.dropped == 6);
  CHECK(s.subscribers == 2);
}

// ca tells a reading it has taken from a later one by this number: two
// publishes in one instant of the virtual clock carry equal stamps.
TEST_CASE("bus numbers every reading in publish order, in latest() and in every queue", "[bus]") {
  weft::VirtualClock clock;
  Bus bus(clock);
  auto all = bus.subscribe("*", 16);
  auto temps = bus.subscribe("*.temp", 16);
  CHECK(bus.published() == 0);
  Reading first = reading("oven.temp", 1);
  first.seq = 77;  // whatever the publisher put there: the bus numbers it
  bus.publish(first);
  bus.publish(reading("oven.door", 2));
  bus.publish(reading("oven.temp", 3));  // the same point, the same instant (the clock did not move)
  CHECK(bus.published() == 3);
  std::vector<std::uint64_t> seen;
  while (auto r = all.try_receive()) seen.push_back(r->seq);
  CHECK(seen == std::vector<std::uint64_t>{1, 2, 3});
  seen.clear();
  while (auto r = temps.try_receive()) seen.push_back(r->seq);
  CHECK(seen == std::vector<std::uint64_t>{1, 3});
  REQUIRE(bus.latest("oven.temp") != nullptr);
  CHECK(bus.latest("oven.temp")->seq == 3);
  CHECK(bus.latest("oven.door")->seq == 2);
}

TEST_CASE("bus routes by glob pattern", "[bus]") {
  weft::VirtualClock clock;
  Bus bus(clock);
  auto press = bus.subscribe("press.*", 16);
  auto temps = bus.subscribe("*.temp", 16);
  auto all = bus.subscribe("*", 16);
  auto none = bus.subscribe("oven.?", 16);

  bus.publish(reading("press.temp", 1));
  bus.publish(reading("press.speed", 2));
  bus.publish(reading("oven.temp", 3));
  bus.publish(reading("oven.door", 4));

  CHECK(drain(press) == std::vector<std::int64_t>{1, 2});
  CHECK(drain(temps) == std::vector<std::int64_t>{1, 3});
  CHECK(drain(all) == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK(drain(none).empty());
  CHECK(bus.stats().published == 4);
  CHECK(bus.stats().dropped == 0);
}

TEST_CASE("bus subscription destruction unsubscribes and keeps its drop count", "[bus]") {
  weft::VirtualClock clock;
  Bus bus(clock);
  auto keep = bus.subscribe("*", 8);
  CHECK(bus.stats().subscribers == 1);
  {
    auto tiny = bus.subscribe("*", 1);
    CHECK(bus.stats().subscribers == 2);
    bus.publish(reading("a", 1));
    bus.publish(reading("a", 2));
    bus.publish(reading("a", 3));
    CHECK(tiny.dropped() == 2);
    CHECK(bus.stats().dropped == 2);

    weft::Subscription moved = std::move(tiny);  // a move is not an unsubscribe
    CHECK(bus.stats().subscribers == 2);
    CHECK(moved.dropped() == 2);
  }
  CHECK(bus.stats().subscribers == 1);
  CHECK(bus.stats().dropped == 2);  // drops of past subscriptions still count
  bus.publish(reading("a", 4));      // nothing delivered to the gone queue
  CHECK(bus.stats().published == 4);
  CHECK(drain(keep) == std::vector<std::int64_t>{1, 2, 3, 4});

  keep = bus.subscribe("b", 2);  // assignment unsubscribes the old queue
  CHECK(bus.stats().subscribers == 1);
  CHECK_THROWS_AS(bus.subscribe("x", 0), std::invalid_argument);
}

TEST_CASE("bus wakes a receiver parked in receive()", "[bus]") {
  boost::asio::io_context ioc;
  weft::VirtualClock clock;
  Bus bus(clock);
  auto sub = bus.subscribe("p.*", 4);
  std::vector<std::int64_t> got;
  bool finished = false;

  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) got.push_back(value_of(co_await sub.receive()));
        finished = true;
      },
      boost::asio::detached);
  ioc.poll();
  CHECK(got.empty());  // parked: nothing queued

  bus.publish(reading("other", 0));  // not matching: stays parked
  ioc.poll();
  CHECK(got.empty());

  bus.publish(reading("p.x", 1));
  CHECK(got.empty());  // completion is posted, never run inside publish()
  ioc.poll();
  CHECK(got == std::vector<std::int64_t>{1});

  bus.publish(reading("p.x", 2));  // wakes the receiver parked again...
  bus.publish(reading("p.x", 3));  // ...and this one is queued: returned without parking
  ioc.poll();
  CHECK(got == std::vector<std::int64_t>{1, 2, 3});
  CHECK(finished);
  CHECK(sub.depth() == 0);
  CHECK(sub.dropped() == 0);
}

TEST_CASE("bus receive() raced with a sleep keeps the subscription usable and loses nothing", "[bus]") {
  weft::Runtime rt(weft::test::virtual_options(1));
  const MonoTime t0 = rt.clock().now();
  std::vector<std::int64_t> got;
  std::vector<std::size_t> winners;
  MonoTime first_race_end{};
  bool rx_done = false;

  // rx: races receive() against short sleeps, then collects everything published.
  rt.add(weft::coroutine_service("rx", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    auto sub = ctx.subscribe("tx.*", 16);
    ctx.ready();
    // 1. Nothing published: the sleep wins at ~1 ms.
    auto r1 = co_await (sub.receive() || ctx.sleep(1ms));
    winners.push_back(r1.index());
    first_race_end = ctx.clock().now();
    // 2. tx publishes (at its wake, 9.995 ms) in the same expiry that wakes this sleep
    //    (window [10, 10.01] ms), before this sleep's completion runs: the receive completes
    //    too, but the sleep wins the race. The reading must stay queued, not vanish.
    auto r2 = co_await (sub.receive() || ctx.sleep_until(t0 + 10ms, 10us));
    winners.push_back(r2.index());
    if (r2.index() == 0) got.push_back(value_of(std::get<0>(r2)));
    // 3. Everything published (values 1..3) arrives, in order.
    while (got.size() < 3) {
      auto r = co_await (sub.receive() || ctx.sleep(1s));
      if (r.index() == 1) break;  // lost
      got.push_back(value_of(std::get<0>(r)));
    }
    rx_done = true;
    rt.request_stop();
    co_await ctx.sleep(24h);
  }));
  rt.add(weft::coroutine_service("tx", {"rx"}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(t0 + 9'995us, 20us);  // window [9.995, 10.015] ms
    ctx.publish("tx.v", std::int64_t{1});
    co_await ctx.sleep_until(t0 + 50ms);
    ctx.publish("tx.v", std::int64_t{2});
    ctx.publish("tx.v", std::int64_t{3});
    co_await ctx.sleep(24h);
  }));
  rt.stop_after(1h);
  REQUIRE(rt.run() == weft::kExitOk);

  REQUIRE(rx_done);
  REQUIRE(winners.size() == 2);
  CHECK(winners[0] == 1);
  CHECK(first_race_end - t0 >= 1ms);
  CHECK(first_race_end - t0 <= 1ms + weft::default_slack(1ms));
  CHECK(winners[1] == 1);  // the sleep's completion was queued first
  CHECK(got == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("every runtime wait honours cancellation under ||", "[bus][cancel]") {
  weft::Runtime rt(weft::test::virtual_options(1));
  MonoTime t0{}, sleep_race_end{};
  Duration receive_race_took{};
  std::size_t sleep_winner = 99, receive_winner = 99;
  std::size_t timers_before = 0, timers_after = 0;
  std::optional<std::int64_t> later;
  bool done = false;

  rt.add(weft::coroutine_service("probe", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    auto sub = ctx.subscribe("later", 4);
    ctx.ready();
    t0 = ctx.clock().now();
    timers_before = ctx.timers().size();
    // A long sleep cancelled by a short one: completes at ~1 ms, not after an hour.
    auto a = co_await (ctx.sleep(1h) || ctx.sleep(1ms));
    sleep_winner = a.index();
    sleep_race_end = ctx.clock().now();
    timers_after = ctx.timers().size();  // the hour-long wait is gone from the queue
    // A receive cancelled by a sleep, then the subscription used again.
    const MonoTime before_receive = ctx.clock().now();
    auto b = co_await (sub.receive() || ctx.sleep(1ms));
    receive_winner = b.index();
    receive_race_took = ctx.clock().now() - before_receive;
    ctx.publish("later", std::int64_t{42});
    auto c = co_await (sub.receive() || ctx.sleep(1s));
    if (c.index() == 0) later = value_of(std::get<0>(c));
    done = true;
    rt.request_stop();
    co_await ctx.sleep(24h);
  }));
  rt.stop_after(2h);
  REQUIRE(rt.run() == weft::kExitOk);

  REQUIRE(done);
  CHECK(sleep_winner == 1);
  CHECK(sleep_race_end - t0 >= 1ms);
  CHECK(sleep_race_end - t0 <= 1ms + weft::default_slack(1ms));
  CHECK(timers_after == timers_before);
  CHECK(receive_winner == 1);
  CHECK(receive_race_took >= 1ms);
  CHECK(receive_race_took <= 1ms + weft::default_slack(1ms));
  REQUIRE(later);
  CHECK(*later == 42);
}
