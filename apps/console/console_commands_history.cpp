// Console command `config history`: the reload transactions the data dir
// keeps (apps/reload/reload_history.hpp, the last 20), oldest first: when,
// what triggered each, its outcome, the services it touched and its
// errors; --json (the console's JSON mode) gives the same as one object.
// The file is read on the blocking pool, never on the loop. A damaged file
// is reported and left where it is (the next reload moves it aside): a
// diagnostic command changes nothing.
#include <string>

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

// [weftd] data_dir of the running config ("" when there is none), as
// weftd's main read it (the same reader, the same default).
std::string running_data_dir(const ConfigSection& root) {
  const auto weftd = root.table("weftd");
  return weftd ? weftd->string("data_dir", "") : std::string();
}

std::string strings_json(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& s : items) out.push_back(console::json_string(s));
  return json_array(out);
}

std::string entry_text(const ReloadOutcome& o) {
  std::string text = "#" + std::to_string(o.id) + "  " + wall_iso(o.started_unix_ms * 1'000'000) + "  " +
                     std::string(to_string(o.trigger)) + "  " + std::string(to_string(o.result)) + " in " +
                     seconds(std::chrono::microseconds(o.took_us), 1);
  if (!o.file.empty()) text += "  " + o.file;
  if (!o.config_hash.empty()) text += "  (config " + o.config_hash + ")";
  text += "\n";
  std::size_t width = 0;
  for (const auto& s : o.services) width = std::max(width, s.action.size() + 1 + s.service.size());
  for (const auto& s : o.services) {
    std::string step = s.action + " " + s.service;
    step.resize(width, ' ');
    const std::string done = s.action == "live" ? "applied live, no restart" : "ok";
    text += "    " + step + "  " + (s.ok ? done : "FAILED") + (s.error.empty() ? "" : ": " + s.error) + "\n";
  }
  if (!o.live.empty()) {
    text += "    applied live:";
    for (std::size_t i = 0; i < o.live.size(); ++i) text += (i ? ", " : " ") + o.live[i];
    text += "\n";
  }
  for (const auto& e : o.errors) text += "    error: " + e + "\n";
  for (const auto& w : o.warnings) text += "    warning: " + w + "\n";
  return text;
}

std::string entry_json(const ReloadOutcome& o) {
  std::vector<std::string> services;
  for (const auto& s : o.services)
    services.push_back(
        JsonObject().str("service", s.service).str("action", s.action).boolean("ok", s.ok).str("error", s.error).done());
  JsonObject j;
  j.integer("id", static_cast<std::int64_t>(o.id)).integer("started_unix_ms", o.started_unix_ms);
  j.str("started", wall_iso(o.started_unix_ms * 1'000'000)).integer("took_us", o.took_us);
  j.str("trigger", to_string(o.trigger)).str("result", to_string(o.result));
  j.boolean("ok", o.result == ReloadResult::applied || o.result == ReloadResult::unchanged);
  j.str("file", o.file).str("config_hash", o.config_hash).raw("errors", strings_json(o.errors));
  j.raw("services", json_array(services)).raw("live", strings_json(o.live));
  j.raw("warnings", strings_json(o.warnings));
  return j.done();
}

awaitable<CommandReply> config_history(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  if (!env.root) co_return failure("config history: weftd was started without a config file; no reload history is kept\n");
  const std::string data_dir = running_data_dir(*env.root);
  if (data_dir.empty())
    co_return failure(
        "config history: no data dir is configured ([weftd] data_dir), so weftd keeps no reload history; "
        "set data_dir (e.g. \"/var/lib/weft\") to keep one\n");
  const std::string path = reload_history_path(data_dir);
  auto work = [data_dir] { return load_reload_history(data_dir, HistoryDamage::leave); };  // named: GCC 12
  ReloadHistory h = co_await env.ctx.blocking_result(work);
  // The entry a transaction leaves when it begins (result interrupted)
  // is no outcome while it still runs in this weftd: named, not listed.
  std::vector<std::uint64_t> running;
  if (env.reload != nullptr && env.reload->attached())
    std::erase_if(h.entries, [&](const ReloadOutcome& o) {
      if (o.result != ReloadResult::interrupted || !env.reload->pending(o.id)) return false;
      running.push_back(o.id);
      return true;
    });

  std::string text;
  if (!h.warning.empty()) text += "warning: " + h.warning + "\n";
  if (h.entries.empty()) {
    text += "config history: no reload recorded in " + path + "\n";
  } else {
    const std::size_t n = h.entries.size();
    text += "config history: " + std::to_string(n) + (n == 1 ? " reload" : " reloads") + " kept in " + path +
            " (the last " + std::to_string(kReloadHistoryKeep) + "), oldest first:\n";
    for (const auto& o : h.entries) text += entry_text(o);
  }
  for (const std::uint64_t id : running)
    text += "reload " + std::to_string(id) + " is running (listed once it ends; `reload status " + std::to_string(id) +
            "` waits for it)\n";
  std::vector<std::string> reloads;
  for (const auto& o : h.entries) reloads.push_back(entry_json(o));
  JsonObject j;
  j.str("file", path).integer("keep", static_cast<std::int64_t>(kReloadHistoryKeep));
  j.integer("next_id", static_cast<std::int64_t>(h.next_id)).str("warning", h.warning).raw("reloads", json_array(reloads));
  co_return CommandReply{true, text, j.done()};
}

}  // namespace

void add_history_commands(ConsoleEnv& env, Registrations& out) {
  auto self = [&env](const char* name) -> const Command& { return *env.ctx.runtime_control().commands().find(name); };
  out.push_back(env.ctx.add_command(
      {"config history", "config history",
       "the last " + std::to_string(kReloadHistoryKeep) +
           " reloads: when, trigger, outcome, services touched, errors (kept in the data dir)",
       [&env, self](const CommandArgs& a) { return config_history(env, self("config history"), a); }}));
}

}  // namespace weft::apps
