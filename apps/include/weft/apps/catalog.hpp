// The catalog of services weftd can run: each entry reads and validates its
// own [service.NAME] table and returns the spec to run. Reading the config
// is validation: `weftd --check-config` builds every spec without running it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "weft/core/config.hpp"
#include "weft/core/service.hpp"

namespace weft::apps {

struct ServiceFactory {
  std::string name;
  std::string summary;  // one line, for help and errors
  // Reads its keys from `section` (throws ConfigError on bad values) and
  // returns the runnable spec (name, needs and `policy` filled in).
  std::function<ServiceSpec(const ConfigSection& section, RestartPolicy policy)> make;
};

const std::vector<ServiceFactory>& service_catalog();
const ServiceFactory* find_service(std::string_view name);
std::string known_service_names();  // "heartbeat, tap"

// One factory per service file.
ServiceFactory heartbeat_factory();
ServiceFactory tap_factory();

}  // namespace weft::apps
