// console: the debug console. Serves a Unix socket on the loop (see
// console_server.hpp for access, bounds and timeouts; console_protocol.hpp
// for the wire format) and registers the core commands for the length of
// its run; services add their own through ctx.add_command. weftctl is its
// client.
//
// [service.console]
//   socket = "/run/weft/weftd.sock"  # default: $RUNTIME_DIRECTORY/weftd.sock, else /run/weft/weftd.sock
//   group = "weft"                   # optional: members may connect too
//   idle_timeout = "10m"
//   max_clients = 128
//   output_buffer = 262144           # bytes per client
//
// Console commands registered here: help, services, service, restart,
// stop, start, complete, points, read, log tail, log level, clock, mem,
// config, console, reload, config diff, config history, version. Files in apps/console/ (public headers
// apps/include/weft/apps/console/):
//   console.cpp                  this service: settings, server, commands
//   console_settings.cpp         [service.console]: every key
//   console_server.cpp           socket, access, sessions (console_server.hpp, private)
//   console_protocol.cpp         the wire frames (weftctl compiles it too)
//   console_format.cpp           tables, ages, JSON for replies (other services' commands use it)
//   console_commands_services.cpp  help, services, service, restart, stop, start, complete
//   console_commands_points.cpp  points, read
//   console_commands_log.cpp     log tail, log level
//   console_commands_system.cpp  clock, mem, config, console
//   console_config.cpp           the effective config as TOML, secrets masked
//   console_commands_reload.cpp  reload [--dry-run], config diff (the plan: assembly/reload_plan.cpp,
//                                the apply: apps/reload/)
//   console_commands_history.cpp  config history (the file: reload/reload_history.cpp)
//   console_commands_version.cpp  version (the update record: update/update_record.cpp)
#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/apps/console/console_commands.hpp"
#include "console_server.hpp"
#include "weft/core/context.hpp"

namespace weft::apps {
namespace {

boost::asio::awaitable<void> run(Context& ctx, const ConsoleSettings& s, const std::optional<ConfigSection>& root,
                                 ReloadCoordinator* reload) {
  ConsoleCounters counters;
  ConsoleEnv env{ctx, root, s, counters, reload};
  Registrations commands;  // after env: the handlers refer to it
  add_service_commands(env, commands);
  add_point_commands(env, commands);
  add_log_commands(env, commands);
  add_system_commands(env, commands);
  add_reload_commands(env, commands);
  add_history_commands(env, commands);
  add_version_commands(env, commands);
  co_await serve_console(ctx, s, counters);  // calls ctx.ready() once the socket listens
}

}  // namespace

ServiceFactory console_factory(const RunMode& mode) {
  return {"console", "serves the debug console (weftctl) on a Unix socket",
          [reload = mode.reload](const ConfigSection& section, const ConfigSection& root, RestartPolicy policy) {
            ConsoleSettings s = read_console_settings(section);
            std::optional<ConfigSection> whole = root;
            return coroutine_service("console", {}, policy,
                                     [s, whole, reload](Context& ctx) { return run(ctx, s, whole, reload); });
          }};
}

}  // namespace weft::apps
