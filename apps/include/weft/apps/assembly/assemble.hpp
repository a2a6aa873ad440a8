// Turns a parsed config into runtime options and the services to run.
// Every mistake is a ConfigError naming file:line:col and the key; an
// unknown key anywhere is an error (a typo must not silently do nothing).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/core/config.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft {
class RuntimeControl;
}

namespace weft::apps {

struct ConfiguredService {
  ServiceSpec spec;
  ConfigSection section;
  // [service.NAME] log_level (checked); empty: the default level
  // ([weftd] log_level). add_services sets the service's logger to it.
  std::string log_level;
};

struct Assembly {
  RuntimeOptions options;
  std::string log_level = "info";
  // [weftd] watch_config: reload when the config file changes on disk
  // (core/file_watch.hpp, debounced; apps/reload/config_watch.cpp).
  // Default false. Applies live: a reload that switches it starts or
  // stops the watch, and restarts nothing.
  bool watch_config = false;
  // [weftd] reload_settle: after a live reload, each restarted or started
  // service must stay up this long, or the reload is rolled back.
  Duration reload_settle = std::chrono::seconds(5);
  // [weftd] update_settle: after `weftctl update` restarted weftd on a new
  // package, every service must be ready, none restarted and no stall for
  // this long, or the update is rolled back. weftd does nothing with it but
  // report it (console `version`); the updater reads it there. Live.
  Duration update_settle = std::chrono::seconds(60);
  std::vector<ConfiguredService> services;
  // From [store], or null. Its services hold a Store*: keep the Assembly
  // alive until the Runtime is gone (weftd's main declares it first).
  std::unique_ptr<store::Store> store;
};

// Reads [weftd], [store] and every [service.NAME]; a disabled service's
// settings are read and checked the same way, but it is not assembled.
Assembly assemble(const Config& config, const RunMode& mode = {});
// The same, but services that use the store get `shared_store` (a running
// one, whose [store] has not changed) instead of a new one made from
// [store] (still read and checked); `store` is then left null. A live
// reload uses it: two Store objects must never write the same file.
Assembly assemble(const Config& config, const RunMode& mode, store::Store* shared_store);

// Reads [weftd] into out.options, out.log_level and out.watch_config (assemble() calls it);
// without a [weftd] table everything keeps its default.
void read_weftd_section(const ConfigSection& root, Assembly& out);

// Adds the assembled services to `runtime`, each service's logger at its
// own log_level when it has one (ConfiguredService::log_level).
void add_services(Runtime& runtime, Assembly& assembly);

// [service.NAME] log_level of one service table: "" when absent; an
// unknown level is a ConfigError at its file:line naming the valid ones.
std::string read_service_log_level(const ConfigSection& service);
// The same, looked up in a whole (validated) config: "" when the service
// or its log_level is absent.
std::string service_log_level(const ConfigSection& root, const std::string& name);
// Loop thread. Sets the logger of service `name` to `level` ("": the
// current default level, logging::default_level()). False if there is no
// such logger or no such level.
bool apply_log_level(RuntimeControl& control, const std::string& name, const std::string& level);

}  // namespace weft::apps
