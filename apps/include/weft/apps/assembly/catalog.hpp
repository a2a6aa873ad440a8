// The catalog of services weftd can run: each entry reads and validates its
// own [service.NAME] table and returns the spec to run. Reading the config
// is validation: `weftd --check-config` builds every spec without running it,
// and a disabled service's settings are read by the same code (not run).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "weft/core/config.hpp"
#include "weft/core/service.hpp"

namespace weft::store {
class Store;
}

namespace weft::apps {

class PortOwner;
class RecordIntake;  // record_intake.hpp
struct InstrumentCounters;  // port_owner.hpp
class ReloadCoordinator;    // weft/apps/reload/reload_coordinator.hpp

// What gather's port owners (Modbus pollers, ASCII readers) counted, filled
// in when gather stops (for the --simulate summary).
struct GatherReport {
  std::vector<std::pair<std::string, InstrumentCounters>> instruments;
  void collect(const std::vector<std::unique_ptr<PortOwner>>& pollers);
};

// How services reach the world: real ports, or simulated devices.
struct RunMode {
  bool simulate = false;
  std::uint64_t seed = 1;          // simulated values and faults
  GatherReport* report = nullptr;  // optional
  // record's bus subscription for the whole process (weftd's main makes it),
  // so readings published while record restarts are kept; null: each run
  // of record subscribes for itself (tests, --check-config, reload --dry-run).
  RecordIntake* record_intake = nullptr;
  // weftd's live reload (the console's `reload`, `config`, `config diff`
  // use it); null: no live reload (tests, --simulate, --check-config).
  ReloadCoordinator* reload = nullptr;
};

struct ServiceFactory {
  std::string name;
  std::string summary;  // one line, for help and errors
  // Reads its keys from `section` (and, for services configured by
  // top-level arrays like gather's [[instrument]], from `root`); throws
  // ConfigError on bad values; returns the runnable spec. Also called for a
  // disabled service whose table holds settings (the spec is then dropped),
  // so it must only read and check: no other part of the config, nothing run.
  std::function<ServiceSpec(const ConfigSection& section, const ConfigSection& root, RestartPolicy policy)> make;
  // The top-level tables `make` reads besides [service.NAME] (gather:
  // "serial", "instrument"): they are its settings even while it is disabled.
  std::vector<std::string> root_tables = {};
  // What it needs from the rest of the config to run (a [store], another
  // service enabled); throws ConfigError. Checked only when enabled, so a
  // service can be switched off together with what it depends on.
  std::function<void(const ConfigSection& section, const ConfigSection& root)> prerequisites = {};
  // The keys of its settings it takes while running, as globs over the
  // reload plan's dotted keys where only '*' is special ("service.ca.access[*",
  // "soft_point[*].writable": the brackets are literal). A reload whose changes to this service are
  // all among them (and its log_level) restarts nothing: the plan lists it
  // as live (ReloadPlan::live_services) and the reload hands the new
  // config to the running spec's take_live (ServiceSpec), which `make` must
  // then set. Empty: every change restarts it.
  std::vector<std::string> live_keys = {};
};

// `store`: the process's store (from [store]), or null when none is configured;
// services that need it (record, upload) reject their table without it.
std::vector<ServiceFactory> service_catalog(const RunMode& mode = {}, store::Store* store = nullptr);
std::string known_service_names();  // "gather, heartbeat, tap"

// One factory per service file.
ServiceFactory heartbeat_factory();
ServiceFactory tap_factory();
ServiceFactory console_factory(const RunMode& mode = {});
ServiceFactory gather_factory(const RunMode& mode);
ServiceFactory record_factory(const RunMode& mode, store::Store* store);
ServiceFactory upload_factory(const RunMode& mode, store::Store* store);
ServiceFactory ca_factory(store::Store* store = nullptr);
ServiceFactory ca_gateway_factory();

}  // namespace weft::apps
