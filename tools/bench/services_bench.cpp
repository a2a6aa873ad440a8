// The weft side of `weft-bench services`: a weft::Runtime (real clock, no signals)
// with N coroutine services, each a drift-free ctx.ticker with a staggered first
// tick, recording lateness = clock.now() - tick.scheduled. An observer service
// opens/closes the window, reports it with the TimerQueue counters (or VmRSS).
#include <cstdio>
#include <cstdlib>

#include <boost/asio/awaitable.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/ticker.hpp"
#include "weft/core/timer_queue.hpp"
#include "workload.hpp"

namespace weft::bench {
namespace {

struct Shared {
  Workload work;
  Probe probe;
  MonoTime run_started{};
  std::int64_t add_ns = 0;  // time spent in Runtime::add for all services
};

boost::asio::awaitable<void> ticking_service(Context& ctx, Shared& s, std::uint32_t i) {
  const MonoTime now = ctx.clock().now();
  TickerOptions options;
  options.slack = s.work.slack;
  options.first_delay = s.work.first_deadline(i, now) - now;
  Ticker ticker = ctx.ticker(s.work.period, options);
  ctx.ready();
  Tick tick = co_await ticker.next();
  const MonoTime woke = ctx.clock().now();
  s.probe.on_tick(woke - tick.scheduled, tick.missed);
  s.probe.first_tick(woke, s.work.count);
  for (;;) {
    tick = co_await ticker.next();
    s.probe.on_tick(ctx.clock().now() - tick.scheduled, tick.missed);
  }
}

// Waits (on the runtime's own timers, zero slack) until every service has
// ticked once, then returns how long that took from creating the services.
boost::asio::awaitable<std::int64_t> all_started(Context& ctx, Shared& s) {
  while (s.probe.started < s.work.count) co_await ctx.sleep_until(ctx.clock().now() + s.work.period);
  co_return ns_since(s.run_started, s.probe.all_started_at);
}

boost::asio::awaitable<void> observer(Context& ctx, Runtime& runtime, Shared& s) {
  ctx.ready();
  const MonoTime t0 = ctx.clock().now();
  const Workload& w = s.work;
  ResultLine line;
  line.add("impl", std::string("weft")).add("services", static_cast<std::uint64_t>(w.count));
  if (w.mode == Mode::rss) {
    const std::int64_t startup_ns = co_await all_started(ctx, s);
    co_await ctx.sleep_until(ctx.clock().now() + 2 * w.period);
    line.add("rss_kib", read_vmrss_kib())
        .add("heap_bytes", heap_in_use_bytes())
        .add("startup_ns", startup_ns)
        .add("add_ns", s.add_ns);
  } else {
    co_await ctx.sleep_until(t0 + w.warmup);
    const std::int64_t startup_ns = co_await all_started(ctx, s);
    Window window;
    const TimerQueueStats q0 = runtime.timers().stats();
    window.open(s.probe);
    co_await ctx.sleep_until(ctx.clock().now() + w.window);
    window.close(s.probe, line);
    const TimerQueueStats q1 = runtime.timers().stats();
    line.add("kernel_arms", q1.kernel_arms - q0.kernel_arms)
        .add("expiries", q1.expiries - q0.expiries)
        .add("wakes", q1.wakes - q0.wakes)
        .add("slack_ns", static_cast<std::int64_t>(w.slack.value_or(default_slack(w.period)).count()))
        .add("startup_ns", startup_ns)
        .add("add_ns", s.add_ns);
  }
  line.print();
  if (w.mode == Mode::rss) std::_Exit(0);  // a memory probe: teardown is not what we measure
  runtime.request_stop();
  co_await ctx.sleep(std::chrono::hours(1));  // the stop cancels this
}

}  // namespace

int run_weft_child(Workload w) {
  Shared s;  // outlives the runtime (the frames refer to it)
  s.work = w;
  RuntimeOptions options;
  options.handle_signals = false;
  Runtime runtime(options);
  s.work.epoch = runtime.clock().now();
  s.run_started = s.work.epoch;  // startup_ns: from creating the services to all of them ticking
  for (std::uint32_t i = 0; i < w.count; ++i) {
    // Captures fit std::function's small buffer: the benchmark adds no heap per service.
    runtime.add(coroutine_service("svc" + std::to_string(i), {}, {},
                                  [sp = &s, i](Context& ctx) { return ticking_service(ctx, *sp, i); }));
  }
  s.add_ns = ns_since(s.run_started, runtime.clock().now());
  runtime.add(coroutine_service("bench-observer", {}, {},
                                [sp = &s, rp = &runtime](Context& ctx) { return observer(ctx, *rp, *sp); }));
  // Bounds the run if the observer never finishes (it requests the stop itself).
  runtime.stop_after(w.warmup + w.window + std::chrono::seconds(60));
  const int status = runtime.run();
  if (s.probe.started < w.count) {
    std::fprintf(stderr, "weft-bench: only %llu of %zu services started\n",
                 static_cast<unsigned long long>(s.probe.started), w.count);
    return 1;
  }
  return status;
}

}  // namespace weft::bench
