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
// No console commands. apps/heartbeat/ holds only this file.
#include <algorithm>
#include <fstream>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"

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

boost::asio::awaitable<void> run(Context& ctx, const Settings& s) {
  const MonoTime started = ctx.clock().now();
  Ticker ticker = ctx.ticker(s.period);
  ctx.ready();
  for (;;) {
    const Tick tick = co_await ticker.next();
    const MonoTime now = ctx.clock().now();
    const std::int64_t rss = co_await ctx.blocking_result(resident_kib);
    ctx.publish(s.prefix + ".uptime_s", std::chrono::duration<double>(now - started).count());
    const Duration lag = std::max(Duration::zero(), now - (tick.scheduled + ticker.slack()));
    ctx.publish(s.prefix + ".loop_lag_us",
                static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(lag).count()));
    ctx.publish(s.prefix + ".missed_ticks", static_cast<std::int64_t>(ticker.missed_total()));
    ctx.publish(s.prefix + ".rss_kib", rss);
    ctx.publish(s.prefix + ".log_lines_dropped", static_cast<std::int64_t>(logging::dropped_log_lines()));
    ctx.log().debug("tick: uptime {:.3f} s, lag {} us, {} missed ticks, rss {} KiB",
                    std::chrono::duration<double>(now - started).count(),
                    std::chrono::duration_cast<std::chrono::microseconds>(lag).count(), ticker.missed_total(), rss);
  }
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
