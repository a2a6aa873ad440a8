// Console commands about the process: clock (monotonic, wall, warp events),
// mem (RSS, per-service allocations, held bytes, limits and leak flags), config (the effective config,
// secrets masked) and console (this server's clients and counters).
#include <unistd.h>

#include <fstream>

#include "weft/apps/console/console_commands.hpp"
#include "weft/apps/console/console_format.hpp"
#include "weft/apps/console/console_protocol.hpp"
#include "console_server.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/clock_watch.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/memory_account.hpp"
#include "weft/core/reading.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

using namespace console_format;
using boost::asio::awaitable;

awaitable<CommandReply> clock(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  RuntimeControl& rc = env.ctx.runtime_control();
  const MonoTime now = rc.clock().now();
  const std::int64_t wall = rc.clock().wall_ns();
  const ClockWatch& watch = rc.clock_watch();
  Table t({"monotonic:", seconds(now.time_since_epoch(), 6) + (rc.virtual_time() ? " (virtual clock)" : " (CLOCK_MONOTONIC)")});
  t.add({"wall:", wall_iso(wall) + " (" + std::to_string(wall) + " ns)"});
  t.add({"wall - monotonic:", std::to_string(wall - to_ns(now)) + " ns"});
  t.add({"boot id:", BootId::current().to_string()});
  t.add({"warp events:", std::to_string(watch.events().size()) + " (the last " + std::to_string(ClockWatch::kHistory) +
                            " are kept)"});
  std::string text = t.render();
  std::vector<std::string> events;
  for (const ClockEvent& e : watch.events()) {
    const double jump_s = static_cast<double>(e.new_offset_ns - e.old_offset_ns) / 1e9;
    char line[160];
    std::snprintf(line, sizeof line, "  %s ago: wall clock jumped %+.3f s (offset %lld -> %lld ns)\n",
                  seconds(now - e.at).c_str(), jump_s, static_cast<long long>(e.old_offset_ns),
                  static_cast<long long>(e.new_offset_ns));
    text += line;
    events.push_back(JsonObject()
                         .integer("at_mono_ns", to_ns(e.at))
                         .integer("old_offset_ns", e.old_offset_ns)
                         .integer("new_offset_ns", e.new_offset_ns)
                         .done());
  }
  JsonObject o;
  o.integer("mono_ns", to_ns(now)).integer("wall_ns", wall).boolean("virtual", rc.virtual_time());
  o.str("boot_id", BootId::current().to_string()).raw("warps", json_array(events));
  co_return CommandReply{true, text, o.done()};
}

struct Memory {
  std::int64_t rss_kib = 0;
  std::int64_t peak_kib = 0;
};

// /proc reads go to the blocking pool like any file.
Memory read_memory() {
  Memory m;
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  m.rss_kib = resident * (::sysconf(_SC_PAGESIZE) / 1024);
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) m.peak_kib = std::stoll(line.substr(6));
  return m;
}

awaitable<CommandReply> mem(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  const Memory m = co_await env.ctx.blocking_result(read_memory);
  RuntimeControl& rc = env.ctx.runtime_control();
  std::string text = "rss: " + std::to_string(m.rss_kib) + " KiB (peak " + std::to_string(m.peak_kib) + " KiB)\n";
  text += "points kept (latest values): " + std::to_string(rc.bus().latest_size()) + "\n";
  text += "log lines lost to a full log queue: " + std::to_string(logging::dropped_log_lines()) + "\n\n";
  Table t({"SERVICE", "ALLOCATIONS", "BYTES", "HELD", "HIGH", "LIMIT", "LEAK"});
  std::vector<std::string> services;
  for (const auto& s : rc.snapshot()) {
    const MemoryAccount* a = s.stats.memory;
    const std::int64_t held = a != nullptr ? a->held.load(std::memory_order_relaxed) : 0;
    const std::int64_t high = a != nullptr ? a->high : 0;
    const std::int64_t limit = a != nullptr ? a->limit : 0;
    const bool leak = a != nullptr && a->leak.suspected();
    t.add({s.name, std::to_string(s.stats.allocations), std::to_string(s.stats.allocated_bytes),
           a != nullptr ? std::to_string(held) : "-", a != nullptr ? std::to_string(high) : "-",
           limit > 0 ? std::to_string(limit) : "-", leak ? "suspected" : "-"});
    JsonObject j;
    j.str("name", s.name)
        .integer("allocations", static_cast<std::int64_t>(s.stats.allocations))
        .integer("allocated_bytes", static_cast<std::int64_t>(s.stats.allocated_bytes))
        .boolean("tracked", a != nullptr)
        .integer("held_bytes", held)
        .integer("high_bytes", high)
        .integer("limit_bytes", limit)
        .integer("refusals", a != nullptr ? static_cast<std::int64_t>(a->refusals) : 0)
        .boolean("leak_suspected", leak)
        .integer("leak_rise_bytes", a != nullptr ? a->leak.rise() : 0);
    services.push_back(j.done());
  }
  JsonObject o;
  o.integer("rss_kib", m.rss_kib).integer("peak_kib", m.peak_kib).raw("services", json_array(services));
  co_return CommandReply{true,
                         text + t.render() +
                             "(allocations: operator new calls while the service ran, bytes requested; held: bytes of "
                             "its blocks not freed yet, whoever frees them; high: the most it held; limit: "
                             "[service.NAME] memory_limit, '-' none; leak: its least held figure rose in each of the "
                             "last 6 windows of 10 min)\n",
                         o.done()};
}

awaitable<CommandReply> config(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  refresh_root(env);  // the running config, also after a live reload
  if (!env.root) co_return failure("config: weftd was started without a config file");
  co_return CommandReply{true, render_config(*env.root), {}};
}

awaitable<CommandReply> console_info(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  const ConsoleCounters& c = env.counters;
  const ConsoleSettings& s = env.settings;
  Table t({"socket:", s.socket + (s.group ? " (0660, group " + s.group_name + ")" : " (0600)")});
  t.add({"clients:", std::to_string(c.clients) + " connected (max " + std::to_string(s.max_clients) + ")"});
  t.add({"accepted:", std::to_string(c.accepted)});
  t.add({"requests:", std::to_string(c.requests)});
  t.add({"refused:", std::to_string(c.refused) + " (not root, the owner or in the group)"});
  t.add({"turned away:", std::to_string(c.too_many) + " (max_clients)"});
  t.add({"dropped:", std::to_string(c.dropped_slow) + " (output buffer of " + std::to_string(s.output_buffer) +
                         " bytes full)"});
  t.add({"idle closed:", std::to_string(c.idle_closed) + " (idle_timeout " + seconds(s.idle_timeout, 0) + ")"});
  JsonObject o;
  o.str("socket", s.socket).integer("clients", static_cast<std::int64_t>(c.clients));
  o.integer("accepted", static_cast<std::int64_t>(c.accepted)).integer("requests", static_cast<std::int64_t>(c.requests));
  o.integer("refused", static_cast<std::int64_t>(c.refused)).integer("too_many", static_cast<std::int64_t>(c.too_many));
  o.integer("dropped", static_cast<std::int64_t>(c.dropped_slow)).integer("idle_closed", static_cast<std::int64_t>(c.idle_closed));
  co_return CommandReply{true, t.render(), o.done()};
}

}  // namespace

void add_system_commands(ConsoleEnv& env, Registrations& out) {
  auto self = [&env](const char* name) -> const Command& { return *env.ctx.runtime_control().commands().find(name); };
  out.push_back(env.ctx.add_command({"clock", "clock", "monotonic and wall time, and the wall clock's warp events",
                                     [&env, self](const CommandArgs& a) { return clock(env, self("clock"), a); }}));
  out.push_back(env.ctx.add_command({"mem", "mem", "resident memory and each service's heap allocations",
                                     [&env, self](const CommandArgs& a) { return mem(env, self("mem"), a); }}));
  out.push_back(env.ctx.add_command({"config", "config", "the effective configuration as TOML (secrets masked)",
                                     [&env, self](const CommandArgs& a) { return config(env, self("config"), a); }}));
  out.push_back(env.ctx.add_command({"console", "console", "this console: socket, clients, refusals, drops",
                                     [&env, self](const CommandArgs& a) { return console_info(env, self("console"), a); }}));
}

}  // namespace weft::apps
