// Tests of per-service accounting (ServiceStats): loop time, longest slice and heap
// allocations are charged to the service whose handlers did the work (not to its
// neighbours, nor to blocking-pool threads), and the await site names the suspended wait.
#include "weft/core/service_stats.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/core/context.hpp"
#include "support/virtual_runtime.hpp"
#include "weft/core/runtime.hpp"

using Catch::Matchers::EndsWith;
using boost::asio::awaitable;
using weft::Context;
using weft::MonoTime;
using weft::VirtualClock;
using namespace std::chrono_literals;
using weft::test::ms_since_start;
using weft::test::snapshot_of;
using weft::test::is_operation_aborted;

namespace {
}  // namespace

namespace {

constexpr auto kSpin = 3ms;
constexpr std::int64_t kSpinNs = std::chrono::duration_cast<std::chrono::nanoseconds>(kSpin).count();

// Real CPU work: spins on the steady clock (never asserted as a duration, only as a lower bound).
void spin(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

volatile long g_sink = 0;  // keeps the allocations observable, so none is optimised away

// `count` heap allocations of std::vector<int>(100) (plus one for the holder).
void allocate_vectors(int count) {
  std::vector<std::vector<int>> keep;
  keep.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) keep.emplace_back(100, i);
  long sum = 0;
  for (const auto& v : keep) sum += v[50];
  g_sink = g_sink + sum;
}

}  // namespace

TEST_CASE("loop time, longest slice and allocations are charged to the service that did the work",
          "[accounting]") {
  weft::Runtime runtime(weft::test::virtual_options(99));
  int busy_iterations = 0, idle_iterations = 0;
  std::uint32_t idle_sleep_line = 0;
  std::optional<weft::ServiceSnapshot> busy, idle, observer;
  int busy_iterations_seen = 0;
  std::optional<MonoTime> observed_at;

  runtime.add(weft::coroutine_service("busy", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) {
      co_await ctx.sleep(10ms);
      // One run slice: ~3 ms of real work and 1000 allocations.
      spin(kSpin);
      allocate_vectors(1000);
      ++busy_iterations;
    }
  }));
  runtime.add(weft::coroutine_service("idle", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) {
      idle_sleep_line = __LINE__; co_await ctx.sleep(7ms);
      ++idle_iterations;
    }
  }));
  runtime.add(weft::coroutine_service("observer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 403ms);  // while idle sleeps (7 ms periods)
    observed_at = ctx.clock().now();
    busy = snapshot_of(runtime, "busy");
    idle = snapshot_of(runtime, "idle");
    observer = snapshot_of(runtime, "observer");
    busy_iterations_seen = busy_iterations;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(500ms);
  REQUIRE(runtime.run() == weft::kExitOk);

  REQUIRE(busy.has_value());
  REQUIRE(idle.has_value());
  const weft::ServiceStats& b = busy->stats;
  const weft::ServiceStats& i = idle->stats;
  INFO("busy: loop_ns " << b.loop_ns << ", longest " << b.longest_slice_ns << ", allocations " << b.allocations
                        << ", slices " << b.slices << ", iterations " << busy_iterations_seen);
  INFO("idle: loop_ns " << i.loop_ns << ", longest " << i.longest_slice_ns << ", allocations " << i.allocations
                        << ", slices " << i.slices << ", iterations " << idle_iterations);
  REQUIRE(busy_iterations_seen >= 30);

  // CPU: busy held the loop for at least its spins; idle for far less.
  CHECK(b.loop_ns >= busy_iterations_seen * kSpinNs);
  // (a margin for the odd preemption of one of idle's microsecond slices on a loaded machine)
  CHECK(b.loop_ns > 10 * i.loop_ns);
  CHECK(b.longest_slice_ns >= kSpinNs);
  CHECK(b.longest_slice_ns <= b.loop_ns);
  CHECK(b.slices >= static_cast<std::uint64_t>(busy_iterations_seen));
  CHECK(i.slices >= 40);

  // Heap: at least 1000 allocations (400 bytes each) per busy slice; idle allocates next to nothing.
  CHECK(b.allocations >= 1000u * static_cast<std::uint64_t>(busy_iterations_seen));
  CHECK(b.allocated_bytes >= 1000u * 100u * sizeof(int) * static_cast<std::uint64_t>(busy_iterations_seen));
  CHECK(i.allocations * 100 < b.allocations);

  // The await site: idle is suspended in the sleep on the marked line of this file.
  REQUIRE_FALSE(i.site.empty());
  CHECK(std::string(i.site.what) == "sleep");
  CHECK_THAT(std::string(i.site.file), EndsWith("accounting_test.cpp"));
  CHECK(i.site.line == idle_sleep_line);
  CHECK(i.site.since <= *observed_at);
  CHECK(*observed_at - i.site.since < 8ms);
  // busy is suspended in its own sleep; the observer is running, so it has no site.
  REQUIRE_FALSE(b.site.empty());
  CHECK(std::string(b.site.what) == "sleep");
  REQUIRE(observer.has_value());
  CHECK(observer->stats.site.empty());
}

TEST_CASE("a dependent launched from another service's ready() is charged its own work", "[accounting]") {
  weft::Runtime runtime(weft::test::virtual_options(99));
  runtime.add(weft::coroutine_service("provider", {}, {}, [&](Context& ctx) -> awaitable<void> {
    co_await ctx.sleep(1ms);
    ctx.ready();  // may launch the consumer right here, inside this slice
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("consumer", {"provider"}, {}, [&](Context& ctx) -> awaitable<void> {
    spin(4 * kSpin);  // expensive start-up
    allocate_vectors(2000);
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == weft::kExitOk);

  const auto provider = snapshot_of(runtime, "provider").stats;
  const auto consumer = snapshot_of(runtime, "consumer").stats;
  INFO("provider loop_ns " << provider.loop_ns << " allocations " << provider.allocations);
  INFO("consumer loop_ns " << consumer.loop_ns << " allocations " << consumer.allocations);
  CHECK(consumer.loop_ns >= 4 * kSpinNs);
  CHECK(consumer.allocations >= 2000);
  CHECK(provider.allocations < 2000);
  CHECK(provider.loop_ns < consumer.loop_ns / 2);
}

TEST_CASE("allocations made by blocking work on the pool are not charged to the service", "[accounting]") {
  weft::Runtime runtime(weft::test::virtual_options(99));
  bool done = false;
  runtime.add(weft::coroutine_service("archiver", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.blocking([] { allocate_vectors(5000); });
    done = true;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(done);
  const auto stats = snapshot_of(runtime, "archiver").stats;
  INFO("allocations " << stats.allocations);
  CHECK(stats.allocations < 5000);
  CHECK(stats.slices >= 2);
}

TEST_CASE("a service waiting on a ticker shows the ticker as its await site", "[accounting]") {
  weft::Runtime runtime(weft::test::virtual_options(99));
  std::uint32_t ticker_line = 0;
  std::optional<weft::AwaitSite> seen;
  runtime.add(weft::coroutine_service("metronome", {}, {}, [&](Context& ctx) -> awaitable<void> {
    auto ticker = ctx.ticker(100ms);
    ctx.ready();
    for (;;) { ticker_line = __LINE__; co_await ticker.next(); }
  }));
  runtime.add(weft::coroutine_service("observer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 250ms);
    seen = snapshot_of(runtime, "metronome").stats.site;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == weft::kExitOk);
  REQUIRE(seen.has_value());
  REQUIRE_FALSE(seen->empty());
  CHECK(std::string(seen->what) == "ticker");
  CHECK_THAT(std::string(seen->file), EndsWith("accounting_test.cpp"));
  CHECK(seen->line == ticker_line);
}
