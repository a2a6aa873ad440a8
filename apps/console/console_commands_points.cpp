// Console commands about points, from the bus's latest-value table:
// points [GLOB] (latest value, quality, age) and read POINT (one in full).
#include "weft/apps/console/console_commands.hpp"
#include "weft/apps/console/console_format.hpp"
#include "weft/apps/console/console_protocol.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

using namespace console_format;
using boost::asio::awaitable;

Duration age_of(const Reading& r, MonoTime now) { return now - MonoTime(std::chrono::nanoseconds(r.mono_ns)); }

std::string reading_json(const Reading& r, MonoTime now) {
  JsonObject o;
  o.str("point", r.point).raw("value", value_json(r.value)).str("quality", to_string(r.quality));
  o.num("age_s", std::chrono::duration<double>(age_of(r, now)).count());
  o.integer("mono_ns", r.mono_ns).integer("wall_ns", r.wall_ns).str("boot_id", r.boot.to_string());
  return o.done();
}

awaitable<CommandReply> points(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (args.size() > 1) co_return usage_error(self, "takes at most one glob pattern");
  RuntimeControl& rc = env.ctx.runtime_control();
  const std::string glob = args.empty() ? "*" : args[0];
  const MonoTime now = rc.clock().now();
  Table t({"POINT", "VALUE", "QUALITY", "AGE"});
  std::vector<std::string> json;
  const auto found = rc.bus().latest_matching(glob);
  for (const Reading* r : found) {
    t.add({r->point, to_string(r->value), std::string(to_string(r->quality)), seconds(age_of(*r, now))});
    json.push_back(reading_json(*r, now));
  }
  std::string text = found.empty() ? "no point matches '" + glob + "' (" + std::to_string(rc.bus().latest_size()) +
                                         " points seen)\n"
                                   : t.render();
  if (rc.bus().latest_untracked() > 0)
    text += "(" + std::to_string(rc.bus().latest_untracked()) + " readings of points beyond the first " +
            std::to_string(Bus::kLatestPoints) + " were not kept)\n";
  co_return CommandReply{true, text, json_array(json)};
}

awaitable<CommandReply> read(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (args.size() != 1) co_return usage_error(self, "takes one point name");
  RuntimeControl& rc = env.ctx.runtime_control();
  const Reading* r = rc.bus().latest(args[0]);
  if (r == nullptr)
    co_return failure("read: no reading of point '" + args[0] + "' yet; 'points' lists the points seen");
  const MonoTime now = rc.clock().now();
  Table t({"point:", r->point});
  t.add({"value:", to_string(r->value)});
  t.add({"quality:", std::string(to_string(r->quality))});
  t.add({"age:", seconds(age_of(*r, now), 3)});
  t.add({"monotonic:", std::to_string(r->mono_ns) + " ns"});
  t.add({"wall:", wall_iso(r->wall_ns)});
  t.add({"boot id:", r->boot.to_string()});
  co_return CommandReply{true, t.render(), reading_json(*r, now)};
}

}  // namespace

void add_point_commands(ConsoleEnv& env, Registrations& out) {
  auto point_names = [&env] {
    std::vector<std::string> names;
    for (const Reading* r : env.ctx.runtime_control().bus().latest_matching("*")) names.push_back(r->point);
    return names;
  };
  auto self = [&env](const char* name) -> const Command& { return *env.ctx.runtime_control().commands().find(name); };
  out.push_back(env.ctx.add_command({"points", "points [GLOB]", "latest value, quality and age of every point (or those matching GLOB)",
                                     [&env, self](const CommandArgs& a) { return points(env, self("points"), a); },
                                     point_names}));
  out.push_back(env.ctx.add_command({"read", "read POINT", "one point's latest reading in full",
                                     [&env, self](const CommandArgs& a) { return read(env, self("read"), a); },
                                     point_names}));
}

}  // namespace weft::apps
