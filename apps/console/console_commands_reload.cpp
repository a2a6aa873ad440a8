// Console commands about a new config: `reload` (apply the file on disk:
// weftd's reload coordinator runs the transaction, apps/reload/; the reply
// waits for its outcome and lists every step: ok when applied or
// unchanged, not ok when refused, rolled back or when the rollback
// failed), `reload --no-wait` (queues it and replies at once with its
// id), `reload status ID` (that reload's outcome: waits while it is queued
// or running, else the last ones in memory, else the data dir's config
// history; weftctl's way through a reload that restarts the console and
// drops the connection), `reload --dry-run` (the file on disk validated as
// --check-config does, and the plan a reload would follow:
// reload_plan.hpp) and `config diff` (the file on disk against the running
// config, key by key, effective values). The running config is the
// coordinator's (the last applied one), or the one the console started
// with when weftd has no live reload. Reading and validating the file runs
// on the blocking pool, never on the loop. Values of secret-looking keys
// are masked, as in `config`.
#include <algorithm>
#include <string>

#include "weft/apps/assembly/reload_plan.hpp"
#include "weft/apps/console/console_commands.hpp"
#include "weft/apps/console/console_format.hpp"
#include "weft/apps/console/console_protocol.hpp"
#include "weft/apps/reload/reload_coordinator.hpp"
#include "weft/apps/reload/reload_history.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

using namespace console_format;
using boost::asio::awaitable;

// What the blocking pool hands back: plain data only (the assembled
// configs, with their specs and store objects, stay and die on the pool).
struct FileCheck {
  std::string file;
  std::string error;  // the file is not valid (or unreadable): the ConfigError
  ReloadPlan plan;
  std::vector<KeyChange> diff;
};

// `running_text`: the running file's bytes when the coordinator has them
// (parsed here again: the loop's document is never read off the loop).
FileCheck check_against_running(const Config& running, const std::optional<std::string>& running_text) {
  FileCheck out;
  out.file = running.source_name();
  try {
    const CheckedConfig next = check_config_file(out.file);
    const CheckedConfig was = check_config(running_text ? Config::parse(*running_text, out.file) : running);
    out.plan = plan_reload(was, next);
    out.diff = diff_configs(was, next);
  } catch (const ConfigError& e) {
    out.error = e.what();
  } catch (const std::exception& e) {  // e.g. a StoreError from a [store] the reader let through
    out.error = out.file + ": " + e.what();
  }
  return out;
}

awaitable<FileCheck> check_file(ConsoleEnv& env) {
  const Config running = env.root->document();
  std::optional<std::string> text;
  if (env.reload != nullptr && env.reload->attached()) text = env.reload->running_text();
  auto work = [running, text] { return check_against_running(running, text); };  // named: GCC 12 and captures in co_await
  FileCheck result = co_await env.ctx.blocking_result(work);
  co_return result;
}

bool secret_key(const std::string& dotted) {
  const auto dot = dotted.find_last_of('.');
  return is_secret_key(dotted.substr(dot == std::string::npos ? 0 : dot + 1));
}

std::string shown(const KeyChange& c, const std::optional<std::string>& value) {
  if (!value) return "unset";
  return secret_key(c.key) ? "\"********\"" : *value;
}

std::string change_line(const KeyChange& c) { return c.key + ": " + shown(c, c.before) + " -> " + shown(c, c.after); }

std::string change_json(const KeyChange& c) {
  auto value = [&](const std::optional<std::string>& v) { return v ? console::json_string(shown(c, v)) : std::string("null"); };
  return JsonObject().str("key", c.key).raw("before", value(c.before)).raw("after", value(c.after)).done();
}

std::string changes_json(const std::vector<KeyChange>& changes) {
  std::vector<std::string> items;
  for (const auto& c : changes) items.push_back(change_json(c));
  return json_array(items);
}

std::string refusal_text(const RefusedKey& r) {
  if (!secret_key(r.change.key)) return refusal_message(r);
  RefusedKey masked = r;
  masked.change.before = shown(r.change, r.change.before);
  masked.change.after = shown(r.change, r.change.after);
  return refusal_message(masked);
}

std::string plan_text(const FileCheck& c) {
  const ReloadPlan& p = c.plan;
  std::string text;
  if (p.is_refused()) {
    text = "reload --dry-run: " + c.file + " is valid, but a reload would be refused; nothing would change:\n";
    for (const auto& r : p.refused) text += "  " + refusal_text(r) + "\n";
    if (p.services.empty() && p.live.empty() && p.live_services.empty()) return text;
    text += "the rest of the plan, were those keys unchanged:\n";
  } else if (p.is_empty()) {
    return "reload --dry-run: " + c.file +
           " is valid and has the running config's effect; a reload would change nothing\n";
  } else {
    text = "reload --dry-run: " + c.file + " is valid; a reload would (nothing is applied now):\n";
  }
  std::size_t width = 0;
  for (const auto& e : p.services) width = std::max(width, e.service.size());
  for (const auto& e : p.live_services) width = std::max(width, e.service.size());
  for (const auto& e : p.services) {
    std::string action(to_string(e.action));
    action.resize(8, ' ');
    std::string service = e.service;
    service.resize(width, ' ');
    text += "  " + action + service + "  " + e.reason + "\n";
    for (const auto& change : e.changes) text += "      " + change_line(change) + "\n";
  }
  for (const auto& e : p.live_services) {
    std::string service = e.service;
    service.resize(width, ' ');
    text += "  live    " + service + "  applied live, no restart (it takes these keys while it runs)\n";
    for (const auto& change : e.changes) text += "      " + change_line(change) + "\n";
  }
  for (const auto& change : p.live) text += "  apply   " + change_line(change) + " (without a restart)\n";
  for (const auto& w : p.warnings) text += "  warning: " + w + "\n";
  if (!p.unchanged.empty()) {
    text += "untouched:";
    for (std::size_t i = 0; i < p.unchanged.size(); ++i) text += (i ? ", " : " ") + p.unchanged[i];
    text += "\n";
  }
  return text;
}

std::string plan_json(const FileCheck& c) {
  const ReloadPlan& p = c.plan;
  std::vector<std::string> services, refused, unchanged, warnings;
  for (const auto& w : p.warnings) warnings.push_back(console::json_string(w));
  for (const auto& e : p.services)
    services.push_back(JsonObject()
                           .str("service", e.service)
                           .str("action", to_string(e.action))
                           .str("reason", e.reason)
                           .raw("changes", changes_json(e.changes))
                           .done());
  for (const auto& r : p.refused)
    refused.push_back(JsonObject()
                          .raw("change", change_json(r.change))
                          .str("where", r.where)
                          .str("message", refusal_text(r))
                          .done());
  for (const auto& e : p.live_services)
    services.push_back(JsonObject()
                           .str("service", e.service)
                           .str("action", "live")
                           .str("reason", "applied live, no restart")
                           .raw("changes", changes_json(e.changes))
                           .done());
  for (const auto& name : p.unchanged) unchanged.push_back(console::json_string(name));
  JsonObject o;
  o.str("file", c.file).boolean("valid", true).boolean("refused", p.is_refused()).boolean("applied", false);
  o.raw("services", json_array(services)).raw("live", changes_json(p.live)).raw("refusals", json_array(refused));
  o.raw("untouched", json_array(unchanged)).raw("warnings", json_array(warnings));
  return o.done();
}

CommandReply invalid(const FileCheck& c, const std::string& what) {
  const std::string text = what + ": " + c.file + " is not valid; nothing would change:\n  " + c.error + "\n";
  return CommandReply{false, text, JsonObject().str("file", c.file).boolean("valid", false).str("error", c.error).done()};
}

std::string outcome_text(const ReloadOutcome& o) {
  std::string text = "reload " + std::to_string(o.id) + ": " + o.file + ": " + std::string(to_string(o.result));
  switch (o.result) {
    case ReloadResult::applied: text += "\n"; break;
    case ReloadResult::unchanged: text += " (the file has the running config's effect; nothing changed)\n"; break;
    case ReloadResult::refused: text += "; nothing changed:\n"; break;
    case ReloadResult::rolled_back: text += "; every service it touched runs its previous config again:\n"; break;
    case ReloadResult::rollback_failed: text += "; services left to their normal supervision:\n"; break;
    case ReloadResult::interrupted: text += "; weftd stopped before it ended:\n"; break;
  }
  for (const auto& e : o.errors) text += "  " + e + "\n";
  std::size_t width = 0;
  for (const auto& s : o.services) width = std::max(width, s.service.size());
  for (const auto& s : o.services) {
    std::string action = s.action;
    action.resize(9, ' ');
    std::string service = s.service;
    service.resize(width, ' ');
    const std::string done = s.action == "live" ? "applied live, no restart" : "ok";
    text += "  " + action + service + "  " + (s.ok ? done : "FAILED: " + s.error) + "\n";
  }
  for (const auto& k : o.live) text += "  applied  " + k + " (without a restart)\n";
  for (const auto& w : o.warnings) text += "  warning: " + w + "\n";
  text += "running config " + o.config_hash + ", " + std::to_string(o.took_us / 1000) + " ms\n";
  return text;
}

std::string outcome_json(const ReloadOutcome& o) {
  std::vector<std::string> steps, errors, live, warnings;
  for (const auto& w : o.warnings) warnings.push_back(console::json_string(w));
  for (const auto& s : o.services)
    steps.push_back(
        JsonObject()
            .str("service", s.service)
            .str("action", s.action)
            .boolean("ok", s.ok)
            .str("error", s.error)
            .raw("start_us", std::to_string(s.start_us))
            .done());
  for (const auto& e : o.errors) errors.push_back(console::json_string(e));
  for (const auto& k : o.live) live.push_back(console::json_string(k));
  JsonObject j;
  j.raw("id", std::to_string(o.id)).str("trigger", to_string(o.trigger)).str("result", to_string(o.result));
  j.str("file", o.file).str("config_hash", o.config_hash).raw("took_us", std::to_string(o.took_us));
  j.raw("errors", json_array(errors)).raw("services", json_array(steps)).raw("live", json_array(live));
  j.raw("warnings", json_array(warnings));
  return j.done();
}

CommandReply outcome_reply(const ReloadOutcome& o) {
  const bool ok = o.result == ReloadResult::applied || o.result == ReloadResult::unchanged;
  return CommandReply{ok, outcome_text(o), outcome_json(o)};
}

bool has_live_reload(const ConsoleEnv& env) { return env.reload != nullptr && env.reload->attached(); }

CommandReply no_live_reload() {
  return failure(
      "reload: this weftd has no live reload (started without a config file, or --simulate); nothing was "
      "changed. See what a reload would do with `reload --dry-run`; to apply the file, run `systemctl restart "
      "weftd`\n");
}

awaitable<CommandReply> reload(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  refresh_root(env);
  if (args.empty()) {
    if (!has_live_reload(env)) co_return no_live_reload();
    co_return outcome_reply(co_await env.reload->reload(ReloadTrigger::console));
  }
  if (args.size() == 1 && args[0] == "--no-wait") {
    // The id first, the outcome later (`reload status ID`): weftctl's way, so
    // that a reload which restarts the console (and drops this connection)
    // still reaches its caller.
    if (!has_live_reload(env)) co_return no_live_reload();
    const std::uint64_t id = env.reload->trigger(ReloadTrigger::console);
    const std::string text = "reload " + std::to_string(id) + ": queued; `reload status " + std::to_string(id) +
                             "` waits for its outcome\n";
    co_return CommandReply{true, text, JsonObject().raw("id", std::to_string(id)).str("result", "queued").done()};
  }
  if (args.size() != 1 || args[0] != "--dry-run") co_return usage_error(self, "the options are --dry-run and --no-wait");
  if (!env.root) co_return failure("reload: weftd was started without a config file; there is nothing to reload\n");
  const FileCheck c = co_await check_file(env);
  if (!c.error.empty()) co_return invalid(c, "reload --dry-run");
  co_return CommandReply{!c.plan.is_refused(), plan_text(c), plan_json(c)};
}

// `reload status ID`: the coordinator's (waits while ID is queued or
// running), else the data dir's config history (read on the blocking pool).
awaitable<CommandReply> reload_status(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  std::uint64_t id = 0;
  if (args.size() != 1 || args[0].empty() || args[0].size() > 19 ||
      args[0].find_first_not_of("0123456789") != std::string::npos || (id = std::stoull(args[0])) == 0)
    co_return usage_error(self, "takes one reload id (a number, as `reload` and `config history` show)");
  if (!has_live_reload(env)) co_return no_live_reload();
  const std::optional<ReloadOutcome> kept = co_await env.reload->outcome(id);
  if (kept) co_return outcome_reply(*kept);
  refresh_root(env);
  const auto weftd = env.root ? env.root->table("weftd") : std::nullopt;
  const std::string dir = weftd ? weftd->string("data_dir", "") : std::string();
  if (!dir.empty()) {
    auto work = [dir] { return load_reload_history(dir, HistoryDamage::leave); };  // named: GCC 12 and co_await
    const ReloadHistory h = co_await env.ctx.blocking_result(work);
    for (const auto& o : h.entries)
      if (o.id == id) co_return outcome_reply(o);
  }
  co_return failure("reload status: reload " + std::to_string(id) +
                    " is unknown: not queued or running, not among the last ones in memory" +
                    (dir.empty() ? std::string(", and there is no [weftd] data_dir for a config history")
                                 : ", nor in the config history") +
                    " (a reload cut short by a stop of weftd is `interrupted` there); `config history` lists those kept\n");
}

awaitable<CommandReply> config_diff(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  refresh_root(env);
  if (!env.root) co_return failure("config diff: weftd was started without a config file\n");
  const FileCheck c = co_await check_file(env);
  if (!c.error.empty()) co_return invalid(c, "config diff");
  std::string text;
  if (c.diff.empty()) {
    text = "config diff: " + c.file + " on disk has the running config's effect (effective values, defaults applied)\n";
  } else {
    text = "config diff: " + c.file + " on disk (right) vs the running config (left), effective values:\n";
    for (const auto& change : c.diff) text += "  " + change_line(change) + "\n";
    text += std::to_string(c.diff.size()) + (c.diff.size() == 1 ? " key differs\n" : " keys differ\n");
  }
  co_return CommandReply{true, text,
                         JsonObject().str("file", c.file).boolean("valid", true).raw("changes", changes_json(c.diff)).done()};
}

}  // namespace

void refresh_root(ConsoleEnv& env) {
  if (env.reload != nullptr && env.reload->attached()) env.root = env.reload->running_config().root();
}

void add_reload_commands(ConsoleEnv& env, Registrations& out) {
  auto self = [&env](const char* name) -> const Command& { return *env.ctx.runtime_control().commands().find(name); };
  out.push_back(env.ctx.add_command(
      {"reload", "reload [--dry-run|--no-wait]",
       "apply the config file on disk: restart only what changed, roll back what fails (waits for the outcome); "
       "--dry-run: check it and show what a reload would stop, restart and start; --no-wait: reply at once with "
       "its id (`reload status ID` then waits for the outcome)",
       [&env, self](const CommandArgs& a) { return reload(env, self("reload"), a); }}));
  out.push_back(env.ctx.add_command(
      {"reload status", "reload status ID",
       "the outcome of reload ID (waits while it is queued or running; older ones from the config history)",
       [&env, self](const CommandArgs& a) { return reload_status(env, self("reload status"), a); }}));
  out.push_back(env.ctx.add_command({"config diff", "config diff",
                                     "the config file on disk against the running config, key by key",
                                     [&env, self](const CommandArgs& a) { return config_diff(env, self("config diff"), a); }}));
}

}  // namespace weft::apps
