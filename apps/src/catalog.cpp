// The service catalog: every service weftd knows, in one list.
#include "weft/apps/catalog.hpp"

namespace weft::apps {

const std::vector<ServiceFactory>& service_catalog() {
  static const std::vector<ServiceFactory> catalog = {heartbeat_factory(), tap_factory()};
  return catalog;
}

const ServiceFactory* find_service(std::string_view name) {
  for (const auto& f : service_catalog())
    if (f.name == name) return &f;
  return nullptr;
}

std::string known_service_names() {
  std::string out;
  for (const auto& f : service_catalog()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

}  // namespace weft::apps
