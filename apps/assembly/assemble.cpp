// Config → runtime options and service specs. Layout of a config file:
//
//   [weftd]                      log_level, stop_grace, blocking_threads,
//                                data_dir, stall_threshold, hang_threshold,
//                                reload_settle, update_settle, device
//                                (device_name.hpp)
//   [store]                      the SQLite store (store_config.cpp)
//   [realtime]                   the real-time profile (realtime_config.cpp)
//   [service.NAME]               enabled (default true), log_level (default:
//                                [weftd] log_level), slice_budget (default
//                                none) + the service's keys, read and
//                                checked even when enabled = false
//   [service.NAME.restart]       min_backoff, max_backoff, intensity,
//                                intensity_period, start_timeout
#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/assembly/device_name.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/apps/assembly/config_size.hpp"
#include "weft/apps/assembly/realtime_config.hpp"
#include "weft/apps/assembly/store_config.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

constexpr const char* kLevels = "trace, debug, info, warn, error, critical, off";

// [service.NAME] memory_limit: a size (read_size: bytes or KiB, MiB, ...);
// absent: no limit. Zero is refused rather than read as "none".
std::uint64_t read_memory_limit(const ConfigSection& service) {
  if (!service.has("memory_limit")) return 0;
  const std::uint64_t limit = read_size(service, "memory_limit", 0);
  if (limit == 0)
    service.fail("memory_limit", "must be above 0 (a size such as \"512KiB\"); leave it out for no limit");
  if (limit >= (std::uint64_t{1} << 47))
    service.fail("memory_limit", "is larger than the address space; give a size such as \"64MiB\"");
  return limit;
}

RestartPolicy read_restart_policy(const ConfigSection& service) {
  RestartPolicy p;
  const auto table = service.table("restart");
  if (!table) return p;
  const ConfigSection& t = *table;
  p.min_backoff = t.duration("min_backoff", p.min_backoff, std::chrono::milliseconds(1));
  p.max_backoff = t.duration("max_backoff", p.max_backoff, p.min_backoff);
  p.intensity = static_cast<int>(t.integer("intensity", p.intensity, 0, 1000));
  p.intensity_period = t.duration("intensity_period", p.intensity_period, std::chrono::seconds(1));
  p.start_timeout = t.duration("start_timeout", p.start_timeout, std::chrono::milliseconds(1));
  t.reject_unknown_keys();
  return p;
}

}  // namespace

void read_weftd_section(const ConfigSection& root, Assembly& out) {
  const auto weftd = root.table("weftd");
  if (!weftd) return;
  const ConfigSection& w = *weftd;
  out.log_level = w.string("log_level", out.log_level);
  if (!logging::parse_level(out.log_level))
    w.fail("log_level", "unknown level '" + out.log_level + "'; use one of " + kLevels);
  out.watch_config = w.boolean("watch_config", out.watch_config);
  out.options.stop_grace = w.duration("stop_grace", out.options.stop_grace, Duration::zero(), std::chrono::minutes(10));
  out.options.blocking_threads = static_cast<std::size_t>(w.integer("blocking_threads", 2, 1, 64));
  // Health: no default data_dir (two weftd on one config must stay possible,
  // e.g. the port-lock test, and /var/lib needs root); weftd.service sets it.
  out.options.data_dir = w.string("data_dir", out.options.data_dir);
  out.options.stall_threshold =
      w.duration("stall_threshold", out.options.stall_threshold, std::chrono::milliseconds(1), std::chrono::minutes(1));
  out.options.hang_threshold =
      w.duration("hang_threshold", out.options.hang_threshold, std::chrono::milliseconds(10), std::chrono::hours(1));
  out.reload_settle = w.duration("reload_settle", out.reload_settle, Duration::zero(), std::chrono::minutes(10));
  box_device(root);  // checked here; ca and upload read it (device_name.hpp)
  out.update_settle = w.duration("update_settle", out.update_settle, Duration::zero(), std::chrono::hours(1));
  if (out.options.hang_threshold <= out.options.stall_threshold)
    w.fail("hang_threshold", "must be longer than stall_threshold (a hang is a stall that lasts)");
  w.reject_unknown_keys();
}

namespace {

// Whether a service has settings beyond `enabled`: keys in its own table, or
// the top-level tables it reads. A bare `enabled = false` has nothing to check.
bool holds_settings(const ConfigSection& section, const ConfigSection& root, const ServiceFactory& factory) {
  for (const std::string& key : section.keys())
    if (key != "enabled") return true;
  for (const std::string& table : factory.root_tables)
    if (root.has(table)) return true;
  return false;
}

// The needs graph, checked here as Runtime::run() would, so that `--check-config`
// rejects a config that could never start: a need that is not an enabled service, or a
// dependency cycle (reported at the `needs` that closes it).
void check_needs(const std::vector<ConfiguredService>& services) {
  std::map<std::string, const ConfiguredService*> by_name;
  std::string enabled;
  for (const auto& s : services) {
    by_name.emplace(s.spec.name, &s);
    enabled += (enabled.empty() ? "" : ", ") + s.spec.name;
  }
  for (const auto& s : services)
    for (const auto& need : s.spec.needs)
      if (!by_name.contains(need))
        s.section.fail("needs", "'" + need + "' is not an enabled service (enabled: " + enabled +
                                    "); add it or remove it from the needs");

  enum Mark { unvisited, active, done };
  std::map<std::string, Mark> mark;
  std::vector<std::string> path;
  std::function<void(const ConfiguredService&)> visit = [&](const ConfiguredService& s) {
    mark[s.spec.name] = active;
    path.push_back(s.spec.name);
    for (const auto& need : s.spec.needs) {
      if (mark[need] == active) {
        std::string cycle;
        for (auto it = std::find(path.begin(), path.end(), need); it != path.end(); ++it) cycle += *it + " -> ";
        s.section.fail("needs", "dependency cycle between services: " + cycle + need +
                                    "; break it by removing one of these needs");
      }
      if (mark[need] == unvisited) visit(*by_name.at(need));
    }
    path.pop_back();
    mark[s.spec.name] = done;
  };
  for (const auto& s : services)
    if (mark[s.spec.name] == unvisited) visit(s);
}

}  // namespace

Assembly assemble(const Config& config, const RunMode& mode) { return assemble(config, mode, nullptr); }

Assembly assemble(const Config& config, const RunMode& mode, store::Store* shared_store) {
  Assembly out;
  const ConfigSection root = config.root();
  store::Store* store = nullptr;
  if (auto store_options = read_store_config(root)) {
    if (shared_store == nullptr) out.store = std::make_unique<store::Store>(std::move(*store_options));
    store = shared_store != nullptr ? shared_store : out.store.get();
  }
  const std::vector<ServiceFactory> catalog = service_catalog(mode, store);
  auto find_service = [&](std::string_view name) -> const ServiceFactory* {
    for (const auto& f : catalog)
      if (f.name == name) return &f;
    return nullptr;
  };
  read_weftd_section(root, out);
  out.options.realtime = read_realtime_config(root);
  if (const auto services = root.table("service")) {
    for (const std::string& name : services->keys()) {
      const auto section = services->table(name);
      const ServiceFactory* factory = find_service(name);
      if (factory == nullptr)
        services->fail(name, "unknown service '" + name + "'; known services: " + known_service_names());
      const bool enabled = section->boolean("enabled", true);
      std::string log_level = read_service_log_level(*section);
      if (!enabled && !holds_settings(*section, root, *factory)) {
        section->reject_unknown_keys();
        continue;
      }
      // A disabled service's settings are read and checked exactly like an
      // enabled one's, so that switching it on again is a one-line change.
      const RestartPolicy policy = read_restart_policy(*section);
      ServiceSpec spec = factory->make(*section, root, policy);
      spec.slice_budget = section->duration("slice_budget", Duration::zero(), std::chrono::microseconds(1),
                                            std::chrono::seconds(10));
      spec.memory_limit = read_memory_limit(*section);
      section->reject_unknown_keys();
      if (!enabled) continue;
      if (factory->prerequisites) factory->prerequisites(*section, root);
      out.services.push_back(ConfiguredService{std::move(spec), *section, std::move(log_level)});
    }
    services->reject_unknown_keys();
  }
  root.reject_unknown_keys();
  check_needs(out.services);
  if (out.services.empty())
    throw ConfigError(config.source_name() + ": no service is enabled; add a [service.NAME] table (known services: " +
                      known_service_names() + ")");
  return out;
}

std::string read_service_log_level(const ConfigSection& service) {
  // Read only when present: an absent key is no effective value, so the
  // reload plan sees "unset", and `config` does not list it for every service.
  if (!service.has("log_level")) return {};
  std::string level = service.string("log_level", "");
  if (!logging::parse_level(level))
    service.fail("log_level", "unknown level '" + level + "'; use one of " + kLevels +
                                  " (or leave it out: the service then logs at [weftd] log_level)");
  return level;
}

std::string service_log_level(const ConfigSection& root, const std::string& name) {
  const auto services = root.table("service");
  const auto section = services ? services->table(name) : std::nullopt;
  return section ? read_service_log_level(*section) : std::string();
}

bool apply_log_level(RuntimeControl& control, const std::string& name, const std::string& level) {
  spdlog::logger* logger = control.logger(name);
  if (logger == nullptr) return false;
  const auto parsed = level.empty() ? std::optional(logging::default_level()) : logging::parse_level(level);
  if (!parsed) return false;
  logger->set_level(*parsed);
  return true;
}

void add_services(Runtime& runtime, Assembly& assembly) {
  for (auto& s : assembly.services) {
    const std::string name = s.spec.name;
    runtime.add(std::move(s.spec), s.section);
    if (!s.log_level.empty()) apply_log_level(runtime.control(), name, s.log_level);
  }
  assembly.services.clear();
}

}  // namespace weft::apps
