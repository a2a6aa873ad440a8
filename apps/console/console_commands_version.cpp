// Console command `version`: what runs here and how it got here. The
// running weftd's version and ELF build id, the store schema it reads,
// its pid, config file and data dir, [weftd] update_settle; and from
// <data_dir>/update/ (apps/update/update_record.hpp, read on the blocking
// pool each time) the version before it, the rollback package kept, the
// last update and its outcome, and an update still pending (its step, and
// whether the updater that wrote it still runs). `weftctl update` reads
// the JSON form for its checks and health window. Each call also puts the
// update's one-line note on STATUS= (the updater asks after every
// outcome, so STATUS= follows an update that weftd did not see end).
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/console/console_commands.hpp"
#include "weft/apps/console/console_format.hpp"
#include "weft/apps/reload/reload_coordinator.hpp"
#include "weft/apps/update/update_record.hpp"
#include "weft/core/build_id.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime_control.hpp"
#include "weft/drivers/store/store.hpp"

#ifndef WEFT_VERSION
#error "WEFT_VERSION is set by apps/CMakeLists.txt"
#endif

namespace weft::apps {
namespace {

using namespace console_format;
using boost::asio::awaitable;

struct UpdateFiles {
  std::string dir;
  update::Read<update::State> state;
  update::Read<update::Pending> pending;
};

// The pid may have been reused; "alive" is what kill(0) can tell.
bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

std::string outcome_text(const update::Outcome& o) {
  std::string text = wall_iso(o.started_unix_ms * 1'000'000) + "  " + o.from_version + " -> " + o.to_version + "  " +
                     o.result + " in " + seconds(std::chrono::milliseconds(o.took_ms), 1);
  if (!o.why.empty()) text += ": " + o.why;
  return text;
}

std::string outcome_json(const update::Outcome& o) {
  return JsonObject()
      .integer("started_unix_ms", o.started_unix_ms)
      .str("started", wall_iso(o.started_unix_ms * 1'000'000))
      .integer("took_ms", o.took_ms)
      .str("from", o.from_version)
      .str("to", o.to_version)
      .str("result", o.result)
      .str("why", o.why)
      .done();
}

awaitable<CommandReply> version(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  if (!args.empty()) co_return usage_error(self, "takes no arguments");
  refresh_root(env);  // update_settle and data_dir as they run now, after a reload too
  Assembly running;
  if (env.root) read_weftd_section(*env.root, running);
  const std::string& data_dir = running.options.data_dir;
  const std::string config = env.reload != nullptr ? env.reload->file().string() : std::string();
  const std::string build_id = own_build_id();

  UpdateFiles files;
  if (!data_dir.empty()) {
    files.dir = update::update_dir(data_dir);
    auto work = [dir = files.dir] {  // named: GCC 12
      return UpdateFiles{dir, update::read_state(dir), update::read_pending(dir)};
    };
    files = co_await env.ctx.blocking_result(work);
  }
  const auto& state = files.state.value;
  const auto& pending = files.pending.value;
  env.ctx.runtime_control().set_update_note(update::status_note(state, pending));

  Table t({"version:", WEFT_VERSION});
  t.add({"build id:", build_id.empty() ? "(none: linked without --build-id)" : build_id});
  t.add({"store schema:", std::to_string(store::kSchemaVersion)});
  t.add({"pid:", std::to_string(::getpid())});
  t.add({"config:", config.empty() ? "-" : config});
  t.add({"data dir:", data_dir.empty() ? "- (no [weftd] data_dir: no update record)" : data_dir});
  t.add({"update settle:", seconds(running.update_settle, 0) + " ([weftd] update_settle)"});
  if (!data_dir.empty()) {
    if (state) {
      t.add({"installed by update:", state->current_version});
      t.add({"previous version:", state->previous_version.empty() ? "-" : state->previous_version});
      t.add({"previous package:", state->previous_package.empty() ? "- (none kept)" : state->previous_package});
      t.add({"last update:", state->history.empty() ? "-" : outcome_text(state->history.back())});
    } else {
      t.add({"last update:", "- (weftctl update never ran here)"});
    }
    if (pending) {
      const bool alive = process_alive(pending->updater_pid);
      t.add({"pending update:", pending->from_version + " -> " + pending->to_version + ", step " +
                                    std::string(update::to_string(pending->step)) + ", updater pid " +
                                    std::to_string(pending->updater_pid) +
                                    (alive ? " running" : " gone: `weftctl update --resume` resolves it")});
    }
  }
  std::string text = t.render();
  for (const std::string* error : {&files.state.error, &files.pending.error})
    if (!error->empty()) text += "warning: " + *error + "\n";

  JsonObject j;
  j.str("version", WEFT_VERSION).str("build_id", build_id).integer("store_schema", store::kSchemaVersion);
  j.integer("pid", ::getpid()).str("config", config).str("data_dir", data_dir).str("update_dir", files.dir);
  j.num("update_settle_s", std::chrono::duration<double>(running.update_settle).count());
  if (state) {
    std::vector<std::string> history;
    for (const auto& o : state->history) history.push_back(outcome_json(o));
    j.str("installed_by_update", state->current_version).str("previous_version", state->previous_version);
    j.str("previous_package", state->previous_package);
    j.raw("last_update", state->history.empty() ? "null" : outcome_json(state->history.back()));
    j.raw("updates", json_array(history));
  } else {
    j.raw("last_update", "null");
  }
  if (pending) {
    j.raw("pending", JsonObject()
                         .str("step", update::to_string(pending->step))
                         .str("from", pending->from_version)
                         .str("to", pending->to_version)
                         .integer("updater_pid", pending->updater_pid)
                         .boolean("updater_alive", process_alive(pending->updater_pid))
                         .done());
  } else {
    j.raw("pending", "null");
  }
  j.str("update_error", files.state.error.empty() ? files.pending.error : files.state.error);
  co_return CommandReply{true, text, j.done()};
}

}  // namespace

void add_version_commands(ConsoleEnv& env, Registrations& out) {
  auto self = [&env](const char* name) -> const Command& { return *env.ctx.runtime_control().commands().find(name); };
  out.push_back(env.ctx.add_command(
      {"version", "version",
       "running version and build id, store schema, previous version, last update and its outcome",
       [&env, self](const CommandArgs& a) { return version(env, self("version"), a); }}));
}

}  // namespace weft::apps
