// tap: logs the readings that match a pattern — a window onto the bus for
// a person watching the box. Readings lost because the log could not keep
// up are counted and reported, never silently skipped.
//
// [service.tap]
//   pattern = "*"        # fnmatch glob over point names
//   capacity = 256       # queue length before the oldest reading is dropped
//   needs = []           # services whose readings it waits for
//
// No console commands. apps/tap/ holds only this file.
#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/core/context.hpp"

namespace weft::apps {
namespace {

struct Settings {
  std::string pattern;
  std::size_t capacity;
};

boost::asio::awaitable<void> run(Context& ctx, const Settings& s) {
  Subscription sub = ctx.subscribe(s.pattern, s.capacity);
  ctx.ready();
  std::uint64_t reported_drops = 0;
  for (;;) {
    const Reading r = co_await sub.receive();
    if (sub.dropped() != reported_drops) {
      ctx.log().warn("{} readings dropped (queue of {} was full)", sub.dropped() - reported_drops, s.capacity);
      reported_drops = sub.dropped();
    }
    ctx.log().info("{} = {} ({})", r.point, to_string(r.value), to_string(r.quality));
  }
}

}  // namespace

ServiceFactory tap_factory() {
  return {"tap", "logs readings matching a pattern",
          [](const ConfigSection& section, const ConfigSection&, RestartPolicy policy) {
            Settings s{section.string("pattern", "*"),
                       static_cast<std::size_t>(section.integer("capacity", 256, 1, 1'000'000))};
            auto needs = section.string_array("needs");
            return coroutine_service("tap", std::move(needs), policy, [s](Context& ctx) { return run(ctx, s); });
          }};
}

}  // namespace weft::apps
