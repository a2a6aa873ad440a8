// heartbeat: proves the box is alive. Every period it publishes uptime, how
// late its own tick fired beyond its slack window (loop health: the timer
// queue fires at the window's end by design, so only lateness past it means
// the loop was busy), missed ticks, resident memory and log lines lost to
// overflow, as points "<prefix>.*"; at log_level = "debug" it logs them too,
// one line per tick.
//
// [service.heartbeat]
//   period = "1s"        # how often
//   prefix = "weftd"     # point name prefix
//
// Resident memory is read from /proc on the blocking pool by a child of
// its own, at start and then at most once a second; a tick publishes the
// latest figure (none before the first read) and never waits for the pool. Why: on a busy box the pool's thread can wait
// milliseconds for a CPU, and a tick that awaited it would report that wait
// as the loop's lateness (and tick late), though the loop was idle.
//
// No console commands. apps/heartbeat/ holds only this file.
#include <algorithm>
#include <fstream>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/task_group.hpp"

namespace weft::apps {
namespace {

struct Settings {
  Duration period;
  std::string prefix;
};

// /proc/self/statm: pages; read on the blocking pool like any file.
std::int64_t resident_kib() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

// At once, then every `every`: the resident memory into `rss_kib`, read on the pool.
boost::asio::awaitable<void> follow_memory(Context& ctx, Duration every, std::int64_t& rss_kib) {
  Ticker ticker = ctx.ticker(every);
  for (;;) {
    rss_kib = co_await ctx.blocking_result(resident_kib);
    co_await ticker.next();
  }
}

boost::asio::awaitable<void> tick(Context& ctx, const Settings& s, const std::int64_t& rss_kib) {
  const MonoTime started = ctx.clock().now();
  Ticker ticker = ctx.ticker(s.period);
  for (;;) {
    const Tick tick = co_await ticker.next();
    const MonoTime now = ctx.clock().now();
    ctx.publish(s.prefix + ".uptime_s", std::chrono::duration<double>(now - started).count());
    const Duration lag = std::max(Duration::zero(), now - (tick.scheduled + ticker.slack()));
    ctx.publish(s.prefix + ".loop_lag_us",
                static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(lag).count()));
    ctx.publish(s.prefix + ".missed_ticks", static_cast<std::int64_t>(ticker.missed_total()));
    if (rss_kib >= 0) ctx.publish(s.prefix + ".rss_kib", rss_kib);  // none until the first read
    ctx.publish(s.prefix + ".log_lines_dropped", static_cast<std::int64_t>(logging::dropped_log_lines()));
    ctx.log().debug("tick: uptime {:.3f} s, lag {} us, {} missed ticks, rss {} KiB",
                    std::chrono::duration<double>(now - started).count(),
                    std::chrono::duration_cast<std::chrono::microseconds>(lag).count(), ticker.missed_total(),
                    rss_kib);
  }
}

boost::asio::awaitable<void> run(Context& ctx, const Settings& s) {
  // Not read here: a pool held as heartbeat starts must not delay its
  // ready or its first ticks either.
  std::int64_t rss_kib = -1;
  TaskGroup children(ctx.executor());
  children.spawn(follow_memory(ctx, std::max<Duration>(s.period, std::chrono::seconds(1)), rss_kib));
  children.spawn(tick(ctx, s, rss_kib));
  ctx.ready();
  co_await children.join();
}

}  // namespace

ServiceFactory heartbeat_factory() {
  return {"heartbeat", "publishes uptime, loop lag, missed ticks and memory as points",
          [](const ConfigSection& section, const ConfigSection&, RestartPolicy policy) {
            Settings s{section.duration("period", std::chrono::seconds(1), std::chrono::milliseconds(1)),
                       section.string("prefix", "weftd")};
            if (s.prefix.empty()) section.fail("prefix", "must not be empty");
            return coroutine_service("heartbeat", {}, policy,
                                     [s](Context& ctx) { return run(ctx, s); });
          }};
}

}  // namespace weft::apps
