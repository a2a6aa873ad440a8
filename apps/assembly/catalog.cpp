// The service catalog: every service weftd knows, in one list.
#include "weft/apps/assembly/catalog.hpp"

namespace weft::apps {

std::vector<ServiceFactory> service_catalog(const RunMode& mode, store::Store* store) {
  return {gather_factory(mode), heartbeat_factory(), tap_factory(), console_factory(mode), record_factory(mode, store),
          upload_factory(mode, store), ca_factory(store), ca_gateway_factory()};
}

std::string known_service_names() {
  std::string out;
  for (const auto& f : service_catalog()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

}  // namespace weft::apps
