// Console commands about services and commands: help, services, service,
// restart, stop, start, and complete (weftctl's tab completion).
#include <algorithm>
#include <set>

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

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

CommandReply unknown_service(RuntimeControl& rc, const Command& command, const std::string& name) {
  return usage_error(command, "no service named '" + name + "'; services: " + join(rc.service_names()));
}

std::string micros(std::int64_t ns) { return std::to_string((ns + 500) / 1000) + " us"; }

std::string site_text(const AwaitSite& site) {
  return site.empty() ? std::string("-") : site_location(site);
}

// "none", or the budget and what went over it (the latest slice's sites).
std::string slice_budget_text(const ServiceStats& s) {
  if (s.slice_budget_ns <= 0) return "none ([service.NAME] slice_budget)";
  std::string text = micros(s.slice_budget_ns) + ", " + std::to_string(s.slices_over_budget) + " slices over";
  if (s.slices_over_budget == 0) return text;
  return text + " (worst " + micros(s.over_budget_worst_ns) + "; latest " + micros(s.over_budget_last_ns) +
         ", resumed from " + site_text(s.over_budget_from) + ", suspended in " + site_text(s.over_budget_at) + ")";
}

std::string service_json(const ServiceSnapshot& s, MonoTime now) {
  JsonObject o;
  o.str("name", s.name).str("state", s.state).boolean("ready", s.ready).integer("restarts", static_cast<std::int64_t>(s.restarts));
  o.num("state_for_s", std::chrono::duration<double>(now - s.state_since).count());
  o.integer("loop_ns", s.stats.loop_ns).integer("slices", static_cast<std::int64_t>(s.stats.slices));
  o.integer("longest_slice_ns", s.stats.longest_slice_ns);
  o.integer("allocations", static_cast<std::int64_t>(s.stats.allocations));
  o.integer("allocated_bytes", static_cast<std::int64_t>(s.stats.allocated_bytes));
  o.integer("slice_budget_ns", s.stats.slice_budget_ns);
  o.integer("slices_over_budget", static_cast<std::int64_t>(s.stats.slices_over_budget));
  o.integer("over_budget_worst_ns", s.stats.over_budget_worst_ns);
  o.str("await", await_site(s.stats.site, now)).str("last_error", s.last_error);
  return o.done();
}

awaitable<CommandReply> help(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  Commands& commands = env.ctx.runtime_control().commands();
  if (args.size() > 1) co_return usage_error(self, "takes at most one argument");
  if (args.size() == 1) {
    std::vector<std::string> words{args[0]};
    const Command* c = commands.find(args[0]);
    if (c == nullptr) {
      std::string subs;
      for (const auto& info : commands.list())
        if (info.command->name.starts_with(args[0] + " ")) subs += info.command->usage + "  " + info.command->help + "\n";
      if (subs.empty()) co_return usage_error(self, "no command '" + args[0] + "'; 'help' lists them");
      co_return CommandReply{true, subs, {}};
    }
    co_return CommandReply{true, "usage: " + c->usage + "\n" + c->help + "\n", {}};
  }
  Table t({"COMMAND", "WHAT IT DOES"});
  for (const auto& info : commands.list())
    t.add({info.command->usage, info.command->help + (info.owner == env.ctx.name() ? "" : " [" + info.owner + "]")});
  co_return CommandReply{true, t.render(), {}};
}

awaitable<CommandReply> services(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  RuntimeControl& rc = env.ctx.runtime_control();
  const MonoTime now = rc.clock().now();
  Table t({"SERVICE", "STATE", "READY", "RESTARTS", "CPU_MS", "LONGEST_MS", "ALLOCS", "AWAIT"});
  std::vector<std::string> json;
  for (const auto& s : rc.snapshot()) {
    t.add({s.name, s.state, s.ready ? "yes" : "no", std::to_string(s.restarts), millis(s.stats.loop_ns),
           millis(s.stats.longest_slice_ns), std::to_string(s.stats.allocations), await_site(s.stats.site, now)});
    json.push_back(service_json(s, now));
  }
  // A refused or rolled-back reload: the file on disk is not what runs.
  const std::string& note = rc.reload_note();
  const std::string& update = rc.update_note();  // the last `weftctl update` (console `version`)
  co_return CommandReply{true,
                         t.render() + (note.empty() ? "" : "reload: " + note + "\n") +
                             (update.empty() ? "" : "update: " + update + "\n"),
                         json_array(json)};
}

awaitable<CommandReply> service(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (args.size() != 1) co_return usage_error(self, "takes one service name");
  RuntimeControl& rc = env.ctx.runtime_control();
  const auto info = rc.service(args[0]);
  if (!info) co_return unknown_service(rc, self, args[0]);
  const MonoTime now = rc.clock().now();
  const ServiceSnapshot& s = info->snapshot;
  const RestartPolicy& p = info->policy;
  std::vector<std::string> owned;
  for (const auto& c : rc.commands().list())
    if (c.owner == s.name) owned.push_back(c.command->name);
  Table t({"name:", s.name});
  t.add({"state:", s.state + " for " + seconds(now - s.state_since)});
  t.add({"ready:", s.ready ? "yes" : "no"});
  t.add({"runs:", std::to_string(info->generation) + " (restarts " + std::to_string(s.restarts) + ")"});
  t.add({"last error:", s.last_error.empty() ? "-" : s.last_error});
  t.add({"needs:", join(info->needs)});
  t.add({"restart policy:", "backoff " + seconds(p.min_backoff, 3) + " .. " + seconds(p.max_backoff, 3) + ", intensity " +
                               std::to_string(p.intensity) + " in " + seconds(p.intensity_period, 0) +
                               ", start timeout " + seconds(p.start_timeout, 3)});
  t.add({"loop time:", millis(s.stats.loop_ns) + " ms in " + std::to_string(s.stats.slices) + " slices (longest " +
                          millis(s.stats.longest_slice_ns) + " ms)"});
  t.add({"allocations:", std::to_string(s.stats.allocations) + " (" + std::to_string(s.stats.allocated_bytes) + " bytes)"});
  t.add({"slice budget:", slice_budget_text(s.stats)});
  t.add({"await:", await_site(s.stats.site, now)});
  t.add({"commands:", join(owned)});
  std::vector<std::string> needs_json, owned_json;
  for (const auto& n : info->needs) needs_json.push_back(console::json_string(n));
  for (const auto& n : owned) owned_json.push_back(console::json_string(n));
  std::string json = service_json(s, now);
  json.pop_back();
  json += ",\"needs\":" + json_array(needs_json) + ",\"commands\":" + json_array(owned_json) + "}";
  co_return CommandReply{true, t.render(), json};
}

bool is_down(const std::string& state) { return state == "stopped" || state == "failed"; }

// Waits (runtime clock, bounded by the stop grace and a second) until `name` is down.
awaitable<bool> wait_down(ConsoleEnv& env, const std::string& name) {
  RuntimeControl& rc = env.ctx.runtime_control();
  const MonoTime deadline = rc.clock().now() + rc.stop_grace() + std::chrono::seconds(1);
  while (rc.clock().now() < deadline) {
    if (is_down(rc.service(name)->snapshot.state)) co_return true;
    co_await env.ctx.sleep(std::chrono::milliseconds(10));
  }
  co_return is_down(rc.service(name)->snapshot.state);
}

// stop, start and restart share the checks.
awaitable<CommandReply> control(ConsoleEnv& env, const Command& self, const CommandArgs& args, bool stop, bool start) {
  if (args.size() != 1) co_return usage_error(self, "takes one service name");
  RuntimeControl& rc = env.ctx.runtime_control();
  const std::string& name = args[0];
  const auto info = rc.service(name);
  if (!info) co_return unknown_service(rc, self, name);
  if (name == env.ctx.name() && stop)
    co_return failure(self.name + ": the console cannot " + self.name +
                      " itself from a console session (the session would end with it); restart weftd instead");
  if (rc.stopping()) co_return failure(self.name + ": weftd is shutting down");
  const std::string before = info->snapshot.state;
  if (stop) {
    if (is_down(before)) {
      if (!start) co_return failure(name + " is already " + before);
    } else {
      if (!rc.stop_service(name)) co_return failure(name + " cannot be stopped while " + before);
      if (!co_await wait_down(env, name))
        co_return failure(name + ": still " + rc.service(name)->snapshot.state + " after the stop grace");
    }
  }
  if (start) {
    const std::string down = rc.service(name)->snapshot.state;
    if (!rc.start_service(name))
      co_return failure(name + " cannot be started while " + down + (down == "running" ? " (use restart)" : ""));
  }
  const std::string now_state = rc.service(name)->snapshot.state;
  const std::string path = stop && start && !is_down(before) ? before + " -> stopped -> " + now_state
                                                              : before + " -> " + now_state;
  co_return CommandReply{true, name + ": " + path + "\n", {}};
}

// Candidates for the word after `words` (weftctl filters them by prefix).
awaitable<CommandReply> complete(ConsoleEnv& env, const CommandArgs& args) {
  Commands& commands = env.ctx.runtime_control().commands();
  CommandArgs words = args;
  if (!words.empty() && words.front() == "--json") words.erase(words.begin());
  std::set<std::string> out;
  if (words.empty()) {
    for (const auto& info : commands.list()) out.insert(info.command->name.substr(0, info.command->name.find(' ')));
  } else {
    if (words.size() == 1)
      for (const auto& info : commands.list())
        if (info.command->name.starts_with(words[0] + " ")) out.insert(info.command->name.substr(words[0].size() + 1));
    std::size_t consumed = 0;
    if (const Command* c = commands.lookup(words, &consumed); c != nullptr && c->complete_args)
      for (auto& candidate : c->complete_args()) out.insert(std::move(candidate));
  }
  std::string text;
  for (const auto& s : out) text += s + "\n";
  co_return CommandReply{true, text, {}};
}

}  // namespace

void add_service_commands(ConsoleEnv& env, Registrations& out) {
  Context& ctx = env.ctx;
  auto service_names = [&env] { return env.ctx.runtime_control().service_names(); };
  auto command_names = [&env] {
    std::vector<std::string> names;
    for (const auto& info : env.ctx.runtime_control().commands().list()) names.push_back(info.command->name);
    return names;
  };
  // Each handler finds its own Command (for usage lines) by name at call time.
  auto self = [&env](const char* name) -> const Command& { return *env.ctx.runtime_control().commands().find(name); };

  out.push_back(ctx.add_command({"help", "help [COMMAND]", "list the commands, or show one's usage",
                                 [&env, self](const CommandArgs& a) { return help(env, self("help"), a); },
                                 command_names}));
  out.push_back(ctx.add_command(
      {"services", "services", "every service: state, ready, restarts, loop time, longest slice, allocations, await site",
       [&env, self](const CommandArgs& a) { return services(env, self("services"), a); }}));
  out.push_back(ctx.add_command({"service", "service NAME", "one service in detail",
                                 [&env, self](const CommandArgs& a) { return service(env, self("service"), a); },
                                 service_names}));
  out.push_back(ctx.add_command(
      {"restart", "restart NAME", "stop a service (bounded by the stop grace), then start it",
       [&env, self](const CommandArgs& a) { return control(env, self("restart"), a, true, true); }, service_names}));
  out.push_back(ctx.add_command({"stop", "stop NAME", "stop a service; the others keep running",
                                 [&env, self](const CommandArgs& a) { return control(env, self("stop"), a, true, false); },
                                 service_names}));
  out.push_back(ctx.add_command({"start", "start NAME", "start a stopped or failed service",
                                 [&env, self](const CommandArgs& a) { return control(env, self("start"), a, false, true); },
                                 service_names}));
  out.push_back(ctx.add_command({"complete", "complete [WORD...]",
                                 "completion candidates for the word after WORDs (used by weftctl)",
                                 [&env](const CommandArgs& a) { return complete(env, a); }}));
}

}  // namespace weft::apps
