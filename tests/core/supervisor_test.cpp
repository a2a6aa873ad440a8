// Tests of the supervisor through weft::Runtime on the virtual clock: dependency order and
// readiness gating, start timeouts, graph errors, restart backoff and escalation, and
// stopping/starting one service while the others keep running.
#include "weft/core/runtime.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
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

// A service that becomes ready at once and sleeps until stopped.
weft::ServiceSpec idle_service(std::string name, std::vector<std::string> needs = {}) {
  return weft::coroutine_service(std::move(name), std::move(needs), {}, [](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  });
}

weft::RestartPolicy policy(Duration min_backoff, Duration max_backoff, int intensity,
                           Duration start_timeout = 10s) {
  weft::RestartPolicy p;
  p.min_backoff = min_backoff;
  p.max_backoff = max_backoff;
  p.intensity = intensity;
  p.intensity_period = 60s;
  p.start_timeout = start_timeout;
  return p;
}

std::string graph_error_of(weft::Runtime& runtime) {
  try {
    runtime.run();
  } catch (const weft::ServiceGraphError& e) {
    return e.what();
  }
  FAIL("expected run() to throw ServiceGraphError");
  return {};
}

}  // namespace

// ---- 1. dependency order and readiness gating ------------------------------------------

TEST_CASE("a service is launched only after every service it needs has called ready()", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  std::vector<std::string> starts;  // launch order of a, b, d
  std::optional<MonoTime> a_ready, b_started;
  int c_runs = 0;
  std::optional<weft::ServiceSnapshot> b_at_1s, a_at_1s, c_at_30s, d_at_30s, b_at_30s;

  // b is added before a: the order comes from the needs, not from add().
  runtime.add(weft::coroutine_service("b", {"a"}, {}, [&](Context& ctx) -> awaitable<void> {
    starts.push_back("b");
    b_started = ctx.clock().now();
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("a", {}, {}, [&](Context& ctx) -> awaitable<void> {
    starts.push_back("a");
    co_await ctx.sleep_until(ctx.clock().now() + 5s);  // a while (virtual, no slack) before ready
    a_ready = ctx.clock().now();
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  // c needs d, which is launched but never becomes ready (its start timeout is far away).
  runtime.add(weft::coroutine_service("c", {"d"}, {}, [&](Context& ctx) -> awaitable<void> {
    ++c_runs;
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("d", {}, policy(100ms, 1s, 5, 10h), [&](Context& ctx) -> awaitable<void> {
    starts.push_back("d");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("observer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 1s);
    a_at_1s = snapshot_of(runtime, "a");
    b_at_1s = snapshot_of(runtime, "b");
    co_await ctx.sleep_until(VirtualClock::kStart + 30s);
    b_at_30s = snapshot_of(runtime, "b");
    c_at_30s = snapshot_of(runtime, "c");
    d_at_30s = snapshot_of(runtime, "d");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(60s);
  REQUIRE(runtime.run() == weft::kExitOk);

  // a and d have no needs and start at once; b only once a is ready.
  REQUIRE(starts.size() == 3);
  CHECK(starts.back() == "b");
  CHECK(std::find(starts.begin(), starts.end(), "a") < std::find(starts.begin(), starts.end(), "b"));
  REQUIRE(a_ready.has_value());
  REQUIRE(b_started.has_value());
  CHECK(ms_since_start(*a_ready) == 5000);
  CHECK(ms_since_start(*b_started) == 5000);  // at once, but not before

  REQUIRE(a_at_1s.has_value());
  CHECK(a_at_1s->state == "starting");
  CHECK_FALSE(a_at_1s->ready);
  CHECK(b_at_1s->state == "waiting");
  CHECK(b_at_30s->state == "running");
  CHECK(b_at_30s->ready);

  // A need that never becomes ready keeps its dependent waiting, never launched.
  CHECK(d_at_30s->state == "starting");
  CHECK(c_at_30s->state == "waiting");
  CHECK(c_runs == 0);
  CHECK(snapshot_of(runtime, "c").restarts == 0);
}

TEST_CASE("a chain of needs starts one link at a time, each after the previous is ready", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  std::vector<std::pair<std::string, std::int64_t>> events;  // (what, virtual ms)
  auto link = [&](std::string name, std::vector<std::string> needs, Duration warmup) {
    return weft::coroutine_service(name, std::move(needs), {}, [&events, name, warmup](Context& ctx) -> awaitable<void> {
      events.emplace_back(name + " start", ms_since_start(ctx.clock().now()));
      co_await ctx.sleep_until(ctx.clock().now() + warmup);  // zero slack: exact times
      events.emplace_back(name + " ready", ms_since_start(ctx.clock().now()));
      ctx.ready();
      for (;;) co_await ctx.sleep(1h);
    });
  };
  runtime.add(link("third", {"second", "first"}, 300ms));
  runtime.add(link("second", {"first"}, 200ms));
  runtime.add(link("first", {}, 100ms));
  runtime.stop_after(10s);
  REQUIRE(runtime.run() == weft::kExitOk);

  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"first start", 0},    {"first ready", 100}, {"second start", 100},
      {"second ready", 300}, {"third start", 300}, {"third ready", 600}};
  CHECK(events == expected);
}

// ---- 2. start timeout --------------------------------------------------------------------

TEST_CASE("a service not ready within its start timeout is cancelled, counted as a failure and restarted",
          "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  std::vector<MonoTime> launches;
  std::vector<MonoTime> cancelled;
  std::optional<weft::ServiceSnapshot> after_first_timeout;
  // intensity 1: the first timeout is restarted after backoff, the second escalates,
  // which proves that a start timeout is counted as a failure.
  runtime.add(weft::coroutine_service("sluggish", {}, policy(1s, 1s, 1, 2s), [&](Context& ctx) -> awaitable<void> {
    launches.push_back(ctx.clock().now());
    try {
      for (;;) co_await ctx.sleep(10s);  // never calls ready()
    } catch (const boost::system::system_error& e) {
      if (is_operation_aborted(e)) cancelled.push_back(ctx.clock().now());
      throw;
    }
  }));
  runtime.add(weft::coroutine_service("observer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 2s + 1ms);
    after_first_timeout = snapshot_of(runtime, "sluggish");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1h);
  const int status = runtime.run();

  REQUIRE(after_first_timeout.has_value());
  CHECK(after_first_timeout->state == "backoff");
  CHECK_FALSE(after_first_timeout->ready);
  CHECK_THAT(after_first_timeout->last_error, Contains("start timeout"));
  CHECK_THAT(after_first_timeout->last_error, Contains("2000 ms"));

  REQUIRE(launches.size() == 2);
  REQUIRE(cancelled.size() == 2);
  CHECK(ms_since_start(launches[0]) == 0);
  CHECK(ms_since_start(cancelled[0]) == 2000);  // cancelled exactly at the timeout
  const auto backoff = ms_since_start(launches[1]) - 2000;
  CHECK(backoff >= 500);  // min_backoff with equal jitter: [min/2, min]
  CHECK(backoff <= 1000);
  CHECK(cancelled[1] - launches[1] == 2s);

  CHECK(status == weft::kExitEscalated);
  const auto final = snapshot_of(runtime, "sluggish");
  CHECK(final.state == "failed");
  CHECK(final.restarts == 1);
  CHECK_THAT(final.last_error, Contains("start timeout"));
}

TEST_CASE("a service that becomes ready just before its start timeout keeps running", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  int launches = 0;
  runtime.add(weft::coroutine_service("slow", {}, policy(100ms, 1s, 0, 2s), [&](Context& ctx) -> awaitable<void> {
    ++launches;
    co_await ctx.sleep_until(ctx.clock().now() + 1999ms);
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(30s);
  CHECK(runtime.run() == weft::kExitOk);
  CHECK(launches == 1);
  const auto s = snapshot_of(runtime, "slow");
  CHECK(s.restarts == 0);
  CHECK(s.last_error.empty());
  CHECK(s.state == "stopped");
}

// ---- 3. graph errors ---------------------------------------------------------------------

TEST_CASE("an unknown name in needs is rejected naming both services, and nothing runs", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  int runs = 0;
  runtime.add(weft::coroutine_service("logger", {"database"}, {}, [&](Context& ctx) -> awaitable<void> {
    ++runs;
    ctx.ready();
    co_await ctx.sleep(1h);
  }));
  runtime.add(idle_service("uplink"));
  runtime.stop_after(1s);
  const std::string message = graph_error_of(runtime);
  CHECK_THAT(message, Contains("'logger'"));
  CHECK_THAT(message, Contains("'database'"));
  CHECK_THAT(message, Contains("not configured"));
  CHECK(runs == 0);
}

TEST_CASE("a dependency cycle is rejected naming the cycle path", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  runtime.add(idle_service("standalone"));  // visited (and ordered) before the cycle is found
  runtime.add(idle_service("a", {"b"}));
  runtime.add(idle_service("b", {"c"}));
  runtime.add(idle_service("c", {"a"}));
  runtime.stop_after(1s);
  const std::string message = graph_error_of(runtime);
  CHECK_THAT(message, Contains("cycle"));
  CHECK_THAT(message, Contains("a -> b -> c -> a"));
  // The service table is left intact by the rejection.
  CHECK(runtime.snapshot().size() == 4);
}

TEST_CASE("a service that needs itself is a cycle", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  runtime.add(idle_service("narcissus", {"narcissus"}));
  runtime.stop_after(1s);
  CHECK_THAT(graph_error_of(runtime), Contains("narcissus -> narcissus"));
}

TEST_CASE("two services with the same name are rejected", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  runtime.add(idle_service("modbus"));
  runtime.add(idle_service("tap"));
  runtime.add(idle_service("modbus"));
  runtime.stop_after(1s);
  const std::string message = graph_error_of(runtime);
  CHECK_THAT(message, Contains("'modbus'"));
  CHECK_THAT(message, Contains("twice"));
}

// ---- 4. restart with backoff and escalation ----------------------------------------------

TEST_CASE("a failing service is restarted with exponential backoff and jitter, capped at max_backoff",
          "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  std::vector<MonoTime> starts;
  const weft::RestartPolicy p = policy(100ms, 1s, 8);
  runtime.add(weft::coroutine_service("flaky", {}, p, [&](Context& ctx) -> awaitable<void> {
    starts.push_back(ctx.clock().now());
    throw std::runtime_error("sensor exploded #" + std::to_string(starts.size()));
    co_return;
  }));
  runtime.stop_after(1h);
  const int status = runtime.run();

  // 1 start + 8 restarts; the 9th failure within 60 s exceeds the intensity of 8.
  REQUIRE(starts.size() == 9);
  int jittered = 0;
  for (std::size_t n = 1; n < starts.size(); ++n) {
    const Duration nominal = std::min<Duration>(p.min_backoff * (1 << (n - 1)), p.max_backoff);
    const Duration gap = starts[n] - starts[n - 1];
    INFO("gap " << n << ": " << gap.count() << " ns, nominal " << nominal.count() << " ns");
    CHECK(gap >= nominal / 2);
    CHECK(gap <= nominal);
    if (gap != nominal) ++jittered;
  }
  CHECK(jittered >= 6);  // the jitter is random, not a fixed schedule
  // The uncapped schedule would be 12.8 s for the last gap; it is capped at 1 s.
  CHECK(starts.back() - starts.front() <= 100ms + 200ms + 400ms + 800ms + 4 * 1s);

  CHECK(status == weft::kExitEscalated);
  const auto s = snapshot_of(runtime, "flaky");
  CHECK(s.state == "failed");
  CHECK(s.restarts == 8);
  CHECK(s.last_error == "sensor exploded #9");
  CHECK_FALSE(s.ready);
}

TEST_CASE("exceeding the restart intensity (3 in 60 s) makes run() return kExitEscalated and stops the others",
          "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  int starts = 0;
  std::optional<weft::ServiceSnapshot> during_backoff;
  bool bystander_cancelled = false;
  runtime.add(weft::coroutine_service("doomed", {}, policy(100ms, 30s, 3), [&](Context& ctx) -> awaitable<void> {
    ++starts;
    co_await ctx.sleep(10ms);
    throw std::runtime_error("port /dev/ttyS1 vanished");
  }));
  runtime.add(weft::coroutine_service("bystander", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    try {
      for (;;) co_await ctx.sleep(1s);
    } catch (const boost::system::system_error& e) {
      bystander_cancelled = is_operation_aborted(e);
      throw;
    }
  }));
  runtime.add(weft::coroutine_service("observer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 20ms);  // after the first failure, inside its backoff
    during_backoff = snapshot_of(runtime, "doomed");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1h);
  const int status = runtime.run();

  CHECK(status == weft::kExitEscalated);
  CHECK(starts == 4);  // three restarts allowed, the fourth failure escalates
  CHECK(ms_since_start(runtime.clock().now()) < 10'000);  // long before stop_after
  REQUIRE(during_backoff.has_value());
  CHECK(during_backoff->state == "backoff");
  CHECK(during_backoff->restarts == 0);
  CHECK(during_backoff->last_error == "port /dev/ttyS1 vanished");

  const auto doomed = snapshot_of(runtime, "doomed");
  CHECK(doomed.state == "failed");
  CHECK(doomed.restarts == 3);
  CHECK(doomed.last_error == "port /dev/ttyS1 vanished");
  CHECK(snapshot_of(runtime, "bystander").state == "stopped");
  CHECK(bystander_cancelled);
}

TEST_CASE("an early return from a service's run counts as a failure", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  int starts = 0;
  runtime.add(weft::coroutine_service("quitter", {}, policy(100ms, 1s, 2), [&](Context& ctx) -> awaitable<void> {
    ++starts;
    ctx.ready();
    co_await ctx.sleep(50ms);
    co_return;  // no exception, but a service must run until stopped
  }));
  runtime.stop_after(1h);
  CHECK(runtime.run() == weft::kExitEscalated);
  CHECK(starts == 3);
  const auto s = snapshot_of(runtime, "quitter");
  CHECK(s.state == "failed");
  CHECK(s.restarts == 2);
  CHECK_THAT(s.last_error, Contains("returned early"));
}

TEST_CASE("failures spread wider than the intensity period never escalate", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  int starts = 0;
  weft::RestartPolicy p = policy(100ms, 1s, 1);
  p.intensity_period = 10s;
  runtime.add(weft::coroutine_service("seldom", {}, p, [&](Context& ctx) -> awaitable<void> {
    ++starts;
    ctx.ready();
    co_await ctx.sleep(20s);
    throw std::runtime_error("hiccup");
  }));
  runtime.stop_after(200s);
  CHECK(runtime.run() == weft::kExitOk);
  CHECK(starts >= 8);
  const auto s = snapshot_of(runtime, "seldom");
  CHECK(s.restarts == static_cast<std::uint64_t>(starts - 1));
  CHECK(s.state == "stopped");
  CHECK(s.last_error == "hiccup");
}

// ---- 5. stopping and starting one service --------------------------------------------

TEST_CASE("stop_service stops one service while the others keep running, and start_service starts it again",
          "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  int a_runs = 0, a_ticks = 0, b_ticks = 0, b_runs = 0;
  int a_aborted = 0;
  struct Probe {
    int a_ticks, b_ticks, a_aborted;
    std::string a_state, b_state;
  };
  std::vector<Probe> probes;
  bool stop_a = false, stop_a_again = false, start_a = false, start_b_running = true, stop_unknown = true;

  runtime.add(weft::coroutine_service("a", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ++a_runs;
    ctx.ready();
    try {
      for (;;) {
        co_await ctx.sleep(10ms);
        ++a_ticks;
      }
    } catch (const boost::system::system_error& e) {
      if (is_operation_aborted(e)) ++a_aborted;
      throw;
    }
  }));
  // b needs a: stopping a must not stop b.
  runtime.add(weft::coroutine_service("b", {"a"}, {}, [&](Context& ctx) -> awaitable<void> {
    ++b_runs;
    ctx.ready();
    auto ticker = ctx.ticker(10ms);
    for (;;) {
      co_await ticker.next();
      ++b_ticks;
    }
  }));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    auto probe = [&] {
      probes.push_back({a_ticks, b_ticks, a_aborted, snapshot_of(runtime, "a").state, snapshot_of(runtime, "b").state});
    };
    co_await ctx.sleep_until(VirtualClock::kStart + 105ms);
    probe();                                   // 0: both running
    stop_a = runtime.stop_service("a");
    stop_unknown = runtime.stop_service("no-such-service");
    co_await ctx.sleep_until(VirtualClock::kStart + 205ms);
    probe();                                   // 1: a stopped, b ticking
    stop_a_again = runtime.stop_service("a");  // already stopped
    start_b_running = runtime.start_service("b");  // running: refused
    co_await ctx.sleep_until(VirtualClock::kStart + 305ms);
    probe();                                   // 2: still stopped, b ticking
    start_a = runtime.start_service("a");
    co_await ctx.sleep_until(VirtualClock::kStart + 405ms);
    probe();                                   // 3: a running again
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == weft::kExitOk);

  REQUIRE(probes.size() == 4);
  CHECK(probes[0].a_state == "running");
  CHECK(probes[0].b_state == "running");
  CHECK(stop_a);
  CHECK_FALSE(stop_unknown);

  CHECK(probes[1].a_state == "stopped");
  CHECK(probes[1].b_state == "running");
  CHECK(probes[1].a_ticks == probes[0].a_ticks);       // a no longer runs
  CHECK(probes[1].b_ticks >= probes[0].b_ticks + 9);   // b kept ticking (10 ms period)
  CHECK(probes[0].a_aborted == 0);
  CHECK(probes[1].a_aborted == 1);                     // a's sleep saw the cancellation
  CHECK_FALSE(stop_a_again);
  CHECK_FALSE(start_b_running);

  CHECK(probes[2].a_state == "stopped");
  CHECK(probes[2].a_ticks == probes[0].a_ticks);
  CHECK(probes[2].b_ticks >= probes[1].b_ticks + 9);

  CHECK(start_a);
  CHECK(probes[3].a_state == "running");
  CHECK(probes[3].a_ticks >= probes[2].a_ticks + 9);  // a ticks again
  CHECK(a_runs == 2);
  CHECK(a_aborted == 2);                               // and the final stop cancelled the second run
  CHECK(b_runs == 1);                                  // b was never restarted
  const auto a = snapshot_of(runtime, "a");
  CHECK(a.restarts == 0);          // a requested stop is not a failure
  CHECK(a.last_error.empty());
  CHECK(snapshot_of(runtime, "b").last_error.empty());
}

TEST_CASE("stop_service on a service in backoff cancels its restart", "[supervisor]") {
  weft::Runtime runtime(weft::test::virtual_options(12345));
  int starts = 0;
  std::string state_after_stop;
  runtime.add(weft::coroutine_service("crashy", {}, policy(1s, 1s, 100), [&](Context& ctx) -> awaitable<void> {
    ++starts;
    co_await ctx.sleep(1ms);
    throw std::runtime_error("crash");
  }));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 100ms);  // crashy is in its backoff
    state_after_stop = snapshot_of(runtime, "crashy").state;
    runtime.stop_service("crashy");
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(10s);
  CHECK(runtime.run() == weft::kExitOk);
  CHECK(state_after_stop == "backoff");
  CHECK(starts == 1);  // the pending restart was cancelled
  CHECK(snapshot_of(runtime, "crashy").state == "stopped");
}

TEST_CASE("a service abandoned after its stop grace can be started again while the old run lingers",
          "[supervisor]") {
  weft::RuntimeOptions options = weft::test::virtual_options(12345);
  options.stop_grace = 1s;
  weft::Runtime runtime(options);
  std::vector<int> ticks_per_run;  // index: run
  std::vector<int> ignored_per_run;
  std::string state_after_grace, state_after_start;
  bool started = false;
  runtime.add(weft::coroutine_service("stubborn", {}, {}, [&](Context& ctx) -> awaitable<void> {
    const std::size_t run = ticks_per_run.size();
    ticks_per_run.push_back(0);
    ignored_per_run.push_back(0);
    ctx.ready();
    for (;;) {
      bool cancelled = false;
      try {
        co_await ctx.sleep(10ms);
        ++ticks_per_run[run];
      } catch (const boost::system::system_error& e) {
        if (!is_operation_aborted(e)) throw;
        cancelled = true;
      }
      if (cancelled) {
        ++ignored_per_run[run];
        co_await boost::asio::this_coro::reset_cancellation_state();  // ignores the stop
      }
    }
  }));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 100ms);
    runtime.stop_service("stubborn");
    co_await ctx.sleep_until(VirtualClock::kStart + 1200ms);  // the grace (1 s) is over
    state_after_grace = snapshot_of(runtime, "stubborn").state;
    started = runtime.start_service("stubborn");
    state_after_start = snapshot_of(runtime, "stubborn").state;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(3s);
  CHECK(runtime.run() == weft::kExitOk);

  CHECK(state_after_grace == "stopped");
  CHECK(started);
  CHECK(state_after_start == "running");
  REQUIRE(ticks_per_run.size() == 2);
  CHECK(ignored_per_run[0] == 1);   // the old run saw its stop (and ignored it) ...
  CHECK(ticks_per_run[0] >= 250);   // ... and went on running until the runtime ended
  CHECK(ticks_per_run[1] >= 150);   // the new run ran from 1.2 s
  CHECK(ignored_per_run[1] == 1);   // the final stop reached the new run, not the old one twice
  CHECK(ms_since_start(runtime.clock().now()) == 4000);  // the final stop was abandoned after its grace
  CHECK(snapshot_of(runtime, "stubborn").state == "stopped");
}

namespace {

// A 1 s start timeout, 100 ms backoff and no escalation: restarts are cheap to watch.
weft::RestartPolicy quick_restarts() {
  weft::RestartPolicy policy;
  policy.start_timeout = 1s;
  policy.min_backoff = 100ms;
  policy.max_backoff = 100ms;
  policy.intensity = 100;
  return policy;
}

// Sleeps, swallowing every cancellation: a service that ignores its stop.
awaitable<void> sleep_ignoring_cancellation(Context& ctx, Duration total) {
  const MonoTime until = ctx.clock().now() + total;
  while (ctx.clock().now() < until) {
    bool cancelled = false;
    try {
      co_await ctx.sleep_until(until);
    } catch (const boost::system::system_error&) {
      cancelled = true;  // co_await is not allowed inside a handler
    }
    if (cancelled) co_await boost::asio::this_coro::reset_cancellation_state();
  }
}

}  // namespace

TEST_CASE("a service that ignores its start-timeout cancellation is abandoned after the grace and restarted",
          "[supervisor]") {
  auto options = weft::test::virtual_options(12345);
  options.stop_grace = 2s;
  weft::Runtime runtime(options);
  const weft::RestartPolicy policy = quick_restarts();
  int runs = 0;
  runtime.add(weft::coroutine_service("stubborn", {}, policy, [&](Context& ctx) -> awaitable<void> {
    ++runs;
    co_await sleep_ignoring_cancellation(ctx, 1h);  // never ready, never stops
  }));
  runtime.stop_after(10s);
  runtime.run();
  // Each run: 1 s to the start timeout, 2 s of grace, ~100 ms of backoff.
  CHECK(runs >= 3);
  const auto s = snapshot_of(runtime, "stubborn");
  CHECK(s.restarts >= 2);
  CHECK_THAT(s.last_error, Contains("ignored its cancellation"));
}

TEST_CASE("ready() from an abandoned run does not mark the next run ready", "[supervisor]") {
  auto options = weft::test::virtual_options(12345);
  options.stop_grace = 1s;
  weft::Runtime runtime(options);
  const weft::RestartPolicy policy = quick_restarts();
  int runs = 0;
  runtime.add(weft::coroutine_service("late", {}, policy, [&](Context& ctx) -> awaitable<void> {
    const int run = ++runs;
    if (run == 1) {
      co_await sleep_ignoring_cancellation(ctx, 2500ms);  // abandoned at 2 s; the next run starts at ~2.1 s
      ctx.ready();                                        // at 2.5 s: too late, and not for this run
    }
    co_await sleep_ignoring_cancellation(ctx, 1h);
  }));
  bool second_run_ready_at_3s = true;
  runtime.add(weft::coroutine_service("observer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep_until(VirtualClock::kStart + 3s);
    second_run_ready_at_3s = snapshot_of(runtime, "late").ready;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(4s);
  runtime.run();
  CHECK(runs >= 2);
  CHECK_FALSE(second_run_ready_at_3s);
}
