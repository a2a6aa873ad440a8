// RuntimeControl: the console's window onto the runtime (runtime_control.hpp).
// Every function is a thin read or a supervisor call; nothing here blocks.
#include "weft/core/runtime_control.hpp"

#include "runtime_core.hpp"

namespace weft {

std::vector<ServiceSnapshot> RuntimeControl::snapshot() const {
  std::vector<ServiceSnapshot> out;
  out.reserve(core_.records.size());
  for (const auto& r : core_.records)
    out.push_back(ServiceSnapshot{r->spec.name, detail::to_string(r->state), r->ready, r->restarts, r->last_error,
                                  r->state_since, r->stats});
  return out;
}

std::optional<ServiceInfo> RuntimeControl::service(std::string_view name) const {
  const detail::ServiceRecord* r = core_.find(name);
  if (r == nullptr) return std::nullopt;
  return ServiceInfo{ServiceSnapshot{r->spec.name, detail::to_string(r->state), r->ready, r->restarts, r->last_error,
                                     r->state_since, r->stats},
                     r->spec.needs, r->spec.policy, r->generation};
}

std::vector<std::string> RuntimeControl::service_names() const {
  std::vector<std::string> out;
  for (const auto& r : core_.records) out.push_back(r->spec.name);
  return out;
}

bool RuntimeControl::stop_service(std::string_view name) {
  auto* r = core_.find(name);
  return r != nullptr && core_.supervisor.stop_service(*r);
}

bool RuntimeControl::start_service(std::string_view name) {
  auto* r = core_.find(name);
  return r != nullptr && core_.supervisor.start_service(*r);
}

bool RuntimeControl::stopping() const noexcept { return core_.stop_requested; }
Duration RuntimeControl::stop_grace() const noexcept { return core_.options.stop_grace; }
Commands& RuntimeControl::commands() noexcept { return core_.commands; }
Bus& RuntimeControl::bus() noexcept { return core_.bus; }
const Clock& RuntimeControl::clock() const noexcept { return *core_.clock; }
bool RuntimeControl::virtual_time() const noexcept { return core_.vclock != nullptr; }
const ClockWatch& RuntimeControl::clock_watch() const noexcept { return core_.clock_watch; }

spdlog::logger* RuntimeControl::logger(std::string_view name) noexcept {
  if (name == "weft") return core_.log.get();
  auto* r = core_.find(name);
  return r != nullptr ? r->logger.get() : nullptr;
}

}  // namespace weft
