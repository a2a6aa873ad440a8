// The plan of a reload: given the running config and a new one, both
// validated as `weftd --check-config` validates (check_config_file), which
// services stop, restart and start, what applies without a restart, and
// what refuses the whole reload. Pure: it reads the two configs and
// nothing else, changes nothing and never fails on valid input.
//
// Configs compare by effect, key by key, defaults applied
// (ConfigSection::effective_values): writing out a default, or "1000ms"
// for "1s", changes nothing. A service is its own [service.NAME] (with
// its sub-tables) plus the top-level tables it reads
// (ServiceFactory::root_tables: [[serial]] and [[instrument]] are
// gather's) and, for record and upload, [store] (the store they write and
// read is made from it: a [store] change restarts both on a new Store; on
// the same file the reload closes the running one first, store_swap.hpp).
// A disabled service counts as stopped, whatever its table holds.
//
// Guarantees:
// - A service enabled in both and not listed is never stopped.
// - Added or enabled services start; removed or disabled ones stop; one
//   whose keys changed restarts; one that `needs` a restarting service
//   restarts too, after it.
// - Entries are in apply order: stops first (dependents before what they
//   need), then restarts and starts (what is needed before its dependents).
// - [weftd] log_level, watch_config (the watch starts or stops) and
//   reload_settle apply without a restart, and so does a service's
//   [service.NAME] log_level when it is the only key of that service that
//   changed (the service is then listed unchanged; with another key it
//   restarts, the log_level among its changes); likewise a service whose
//   changed keys are all among those it takes while running
//   (ServiceFactory::live_keys: ca's access rules and soft points'
//   writable) is listed in live_services, not restarted (with any other
//   key changed it restarts, those keys among its changes; restarted for a
//   need, it restarts with them); every other [weftd] key
//   (data_dir, blocking_threads, stop_grace, stall_threshold,
//   hang_threshold: the runtime takes them once, at start) refuses the
//   reload, as does a changed key that no service owns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/config.hpp"

namespace weft::apps {

// A config file parsed and assembled: what --check-config does (throws
// ConfigError with file:line:col). Nothing runs; no file but the config
// is opened.
struct CheckedConfig {
  Config config;
  Assembly assembly;
};
CheckedConfig check_config_file(const std::filesystem::path& file);
// The same for a document already parsed (the running one).
CheckedConfig check_config(Config config);

// One key, by its dotted name ("instrument[boiler].period",
// "service.tap.pattern", "weftd.log_level"; an array entry is named by its
// `name` key, else by its index). Values are TOML text; nullopt: absent.
struct KeyChange {
  std::string key;
  std::optional<std::string> before;
  std::optional<std::string> after;
};

enum class PlanAction { stop, restart, start };
std::string_view to_string(PlanAction action);

struct PlanEntry {
  std::string service;
  PlanAction action;
  std::string reason;              // "its config changed", "needs gather, which restarts", "removed", ...
  std::vector<KeyChange> changes;  // the service's own keys that differ (none for a restart by needs)
};

// A service that takes its changed keys while it runs: the reload hands
// them to it (ServiceSpec::take_live), nothing restarts.
struct LiveEntry {
  std::string service;
  std::vector<KeyChange> changes;  // all among its factory's live_keys
};

struct RefusedKey {
  KeyChange change;
  std::string where;  // file:line:col of the key in the new file (or of its table / the file)
  std::string why;    // why it cannot change while weftd runs
};

struct ReloadPlan {
  std::vector<PlanEntry> services;     // in apply order
  // [store] path names another file (old, new as written): record and
  // upload restart on it, and what upload has not delivered stays behind.
  std::optional<std::pair<std::string, std::string>> store_moved;
  std::vector<std::string> warnings;   // applied anyway, but worth saying (store_move_warning)
  std::vector<KeyChange> live;         // applied without a restart ([weftd] keys, then service.NAME.log_level)
  std::vector<LiveEntry> live_services;  // services given new settings while they run, in start order
  std::vector<RefusedKey> refused;     // non-empty: the whole reload is refused
  std::vector<std::string> unchanged;  // enabled in both and untouched, in start order
  bool is_refused() const noexcept { return !refused.empty(); }
  bool is_empty() const noexcept {
    return services.empty() && live.empty() && live_services.empty() && refused.empty();
  }
};

ReloadPlan plan_reload(const CheckedConfig& running, const CheckedConfig& next);

// Every effective key of the two configs that differs, in key order (the
// `config diff` command). Both must be validated (check_config*).
std::vector<KeyChange> diff_configs(const CheckedConfig& running, const CheckedConfig& next);

// What a [store] path change leaves behind in the old file (the count when
// known: the transaction asks the running store).
std::string store_move_warning(const std::string& from, const std::string& to, std::optional<std::uint64_t> undelivered);

// "[weftd] data_dir changed ("/a" -> "/b") at f.toml:3:12: it can only change
// at start (...); run `systemctl restart weftd` to apply it"
std::string refusal_message(const RefusedKey& refused);

}  // namespace weft::apps
