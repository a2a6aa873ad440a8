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

namespace weft::apps {

struct ConfiguredService {
  ServiceSpec spec;
  ConfigSection section;
};

struct Assembly {
  RuntimeOptions options;
  std::string log_level = "info";
  // [weftd] watch_config: reload when the config file changes on disk
  // (core/file_watch.hpp, debounced). Default false. Applies live: the
  // reload plan neither restarts nor refuses for it.
  bool watch_config = false;
  // [weftd] reload_settle: after a live reload, each restarted or started
  // service must stay up this long, or the reload is rolled back.
  Duration reload_settle = std::chrono::seconds(5);
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

// Adds the assembled services to `runtime`.
void add_services(Runtime& runtime, Assembly& assembly);

}  // namespace weft::apps
