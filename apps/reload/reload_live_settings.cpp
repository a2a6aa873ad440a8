// Live settings in a reload (reload_impl.hpp): each service the plan lists
// in live_services (its changed keys are all among those its factory
// declared it takes while running, ServiceFactory::live_keys) is handed the
// new config through its running spec's take_live (ServiceSpec), with no
// restart: its run, restart count and generation stay as they are.
//
// When: the transaction's last step, once everything else succeeded (every
// restarted or started service ready and settled, a remote change
// confirmed), so a transaction that rolls back never applied them: the
// previous settings were in force throughout, and no client was ever
// granted what a rolled-back config granted. Loop thread; take_live does
// not await, so a stop cannot land between two services' hand-overs.
// Should one refuse (it throws), those already handed the new config get
// the running one again, and the transaction rolls back as a whole.
#include <spdlog/spdlog.h>

#include "reload_impl.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

// "" when `name`'s running spec took its table from `root`; else why not.
std::string hand_over(RuntimeControl& rc, const std::string& name, const ConfigSection& root) {
  const std::optional<ServiceDefinition> def = rc.definition(name);
  if (!def) return "it is not in the service table";
  if (!def->spec.take_live) return "its running spec takes no settings while it runs";
  const auto services = root.table("service");
  const std::optional<ConfigSection> section = services ? services->table(name) : std::nullopt;
  if (!section) return "the config has no [service." + name + "] table";
  try {
    def->spec.take_live(*section, root);  // a copy of the spec: it shares the running one's settings
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

std::string keys_text(const std::vector<KeyChange>& changes) {
  std::string out;
  for (std::size_t i = 0; i < changes.size() && i < 4; ++i) out += (i ? ", " : "") + changes[i].key;
  if (changes.size() > 4) out += ", ... (" + std::to_string(changes.size()) + " keys)";
  return out;
}

}  // namespace

LiveFailure apply_live_settings(RuntimeControl& rc, const ReloadPlan& plan, const ConfigSection& next_root,
                                const ConfigSection& running_root, ReloadOutcome& out) {
  std::vector<std::string> taken;
  for (const LiveEntry& e : plan.live_services) {
    const std::string error = hand_over(rc, e.service, next_root);
    out.services.push_back({e.service, "live", error.empty(), error});
    spdlog::logger* log = rc.logger(e.service);
    if (log == nullptr) log = rc.logger("weft");
    if (!error.empty()) {
      log->error("reload: could not apply its new settings live: {}", error);
      for (const std::string& name : taken)
        if (const std::string back = hand_over(rc, name, running_root); !back.empty())
          rc.logger("weft")->critical("reload: {} could not take its previous settings back: {}", name, back);
      return {e.service, error};
    }
    log->info("reload: applied live, no restart: {}", keys_text(e.changes));
    taken.push_back(e.service);
  }
  for (const LiveEntry& e : plan.live_services)
    for (const KeyChange& c : e.changes) out.live.push_back(c.key);
  return {};
}

}  // namespace weft::apps
