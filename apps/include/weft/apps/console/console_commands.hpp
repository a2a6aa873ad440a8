// The console's own commands (help, services, service, restart, stop,
// start, points, read, log tail, log level, clock, mem, config, console,
// complete, reload, reload status, config diff, config history, version), registered by the console service for the length of its run.
// Each registers its help line beside its handler. Loop thread only.
#pragma once

#include <optional>
#include <vector>

#include "weft/core/commands.hpp"
#include "weft/core/config.hpp"

namespace weft {
class Context;
}

namespace weft::apps {

struct ConsoleCounters;
struct ConsoleSettings;
class ReloadCoordinator;

struct ConsoleEnv {
  Context& ctx;                        // the console service's
  std::optional<ConfigSection> root;   // the whole config, for `config` (refresh_root: the running one)
  const ConsoleSettings& settings;
  const ConsoleCounters& counters;
  ReloadCoordinator* reload = nullptr;  // weftd's live reload (RunMode::reload), or null
};

// env.root := the config running now (after a live reload, not the one the
// console was started with). Call before reading env.root.
void refresh_root(ConsoleEnv& env);

using Registrations = std::vector<CommandRegistration>;

void add_service_commands(ConsoleEnv& env, Registrations& out);  // help, services, service, restart, stop, start, complete
void add_point_commands(ConsoleEnv& env, Registrations& out);    // points, read
void add_log_commands(ConsoleEnv& env, Registrations& out);      // log tail, log level
void add_system_commands(ConsoleEnv& env, Registrations& out);   // clock, mem, config, console
void add_reload_commands(ConsoleEnv& env, Registrations& out);   // reload [--dry-run], config diff
void add_history_commands(ConsoleEnv& env, Registrations& out);  // config history (the data dir's reload history)
void add_version_commands(ConsoleEnv& env, Registrations& out);  // version (build, the update record)

// The effective config as TOML, secrets (password, secret, token, ...) masked.
std::string render_config(const ConfigSection& root);
// A key whose value is masked when shown: password, secret, token, ...
bool is_secret_key(std::string key);

}  // namespace weft::apps
