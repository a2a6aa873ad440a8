// A receiver working through a bus backlog yields the loop every
// Subscription::kBusYieldAfter of its slice, so it cannot hold every other
// service off for the whole backlog: 1,000 queued readings at ~20 us of
// work each (~20 ms in all) are taken in slices far shorter than that, in
// order, none lost. Before the yield, receive() returned each queued
// reading inline and the whole backlog was one slice.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

#include <string>

#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/context.hpp"
#include "weft/core/service.hpp"

using namespace std::chrono_literals;

namespace weft {

TEST_CASE("bus: a receiver working through a backlog yields the loop", "[bus]") {
  constexpr int kReadings = 1000;
  Runtime runtime(test::virtual_options());
  auto backlog = runtime.bus().subscribe("backlog.*", kReadings);
  int received = 0;
  bool in_order = true;
  runtime.add(coroutine_service("producer", {}, {}, [](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(10ms);
    for (int i = 0; i < kReadings; ++i) ctx.publish("backlog.n", std::int64_t{i});  // one slice: all queued at once
    co_await ctx.sleep(1h);
  }));
  runtime.add(coroutine_service("consumer", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    while (received < kReadings) {
      const Reading r = co_await backlog.receive();
      if (std::get<std::int64_t>(r.value) != received) in_order = false;
      ++received;
      const auto until = std::chrono::steady_clock::now() + 20us;  // the work per reading
      while (std::chrono::steady_clock::now() < until) {
      }
    }
    runtime.request_stop();
    co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1min);
  REQUIRE(runtime.run() == kExitOk);
  CHECK(received == kReadings);
  CHECK(in_order);
  const ServiceSnapshot s = test::snapshot_of(runtime, "consumer");
  INFO("consumer: " << s.stats.slices << " slices, longest " << s.stats.longest_slice_ns / 1000 << " us");
  CHECK(s.stats.slices >= 20);                      // ~100 expected (20 ms of work / 200 us); 2 without the yield
}

// Emptying a subscription (move-assigning an empty one) while its receiver waits aborts that receive
// (Bus::unsubscribe -> on_abandon). While receive() yields (its post, with
// readings queued and the slice past kBusYieldAfter) it is not parked, so
// nothing tells it: it resumed on a null queue_ (segfault). It must throw
// operation_aborted (as a parked receiver does), or have returned the
// reading before the reset (no yield); never crash.
TEST_CASE("bus: a subscription reset while its receiver yields aborts the receive", "[bus]") {
  Runtime runtime(test::virtual_options());
  auto sub = runtime.bus().subscribe("reset.*", 16);
  std::string outcome = "not run";
  runtime.add(coroutine_service("consumer", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(10ms);
    ctx.publish("reset.n", std::int64_t{1});               // queued: receive() will not park
    boost::asio::post(ctx.executor(), [&] { sub = Subscription(); });  // unsubscribes, before the yield resumes
    const auto until = std::chrono::steady_clock::now() + 2 * Subscription::kBusYieldAfter;
    while (std::chrono::steady_clock::now() < until) {
    }
    try {
      (void)co_await sub.receive();
      outcome = "returned";
    } catch (const boost::system::system_error& e) {
      outcome = test::is_operation_aborted(e) ? "aborted" : std::string("other: ") + e.what();
    } catch (const std::exception& e) {
      outcome = std::string("other: ") + e.what();
    }
    runtime.request_stop();
    co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1min);
  REQUIRE(runtime.run() == kExitOk);
  CHECK((outcome == "aborted" || outcome == "returned"));
}

}  // namespace weft
