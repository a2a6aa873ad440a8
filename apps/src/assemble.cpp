// Config → runtime options and service specs. Layout of a config file:
//
//   [weftd]                      log_level, stop_grace, blocking_threads
//   [service.NAME]               enabled (default true) + the service's keys
//   [service.NAME.restart]       min_backoff, max_backoff, intensity,
//                                intensity_period, start_timeout
#include "weft/apps/assemble.hpp"

#include "weft/apps/catalog.hpp"
#include "weft/core/log.hpp"

namespace weft::apps {
namespace {

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

void read_weftd_section(const ConfigSection& root, Assembly& out) {
  const auto weftd = root.table("weftd");
  if (!weftd) return;
  const ConfigSection& w = *weftd;
  out.log_level = w.string("log_level", out.log_level);
  if (!logging::parse_level(out.log_level))
    w.fail("log_level", "unknown level '" + out.log_level + "'; use one of trace, debug, info, warn, error, critical, off");
  out.options.stop_grace = w.duration("stop_grace", out.options.stop_grace, Duration::zero(), std::chrono::minutes(10));
  out.options.blocking_threads = static_cast<std::size_t>(w.integer("blocking_threads", 2, 1, 64));
  w.reject_unknown_keys();
}

}  // namespace

Assembly assemble(const Config& config) {
  Assembly out;
  const ConfigSection root = config.root();
  read_weftd_section(root, out);
  if (const auto services = root.table("service")) {
    for (const std::string& name : services->keys()) {
      const auto section = services->table(name);
      const ServiceFactory* factory = find_service(name);
      if (factory == nullptr)
        services->fail(name, "unknown service '" + name + "'; known services: " + known_service_names());
      if (!section->boolean("enabled", true)) {
        section->reject_unknown_keys();
        continue;
      }
      const RestartPolicy policy = read_restart_policy(*section);
      ServiceSpec spec = factory->make(*section, policy);
      section->reject_unknown_keys();
      out.services.push_back(ConfiguredService{std::move(spec), *section});
    }
    services->reject_unknown_keys();
  }
  root.reject_unknown_keys();
  if (out.services.empty())
    throw ConfigError(config.source_name() + ": no service is enabled; add a [service.NAME] table (known services: " +
                      known_service_names() + ")");
  return out;
}

void add_services(Runtime& runtime, Assembly& assembly) {
  for (auto& s : assembly.services) runtime.add(std::move(s.spec), s.section);
  assembly.services.clear();
}

}  // namespace weft::apps
