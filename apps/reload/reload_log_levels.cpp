// Log levels in a live reload (reload_impl.hpp): [weftd] log_level sets
// the default level, and with it every logger, so the services that have
// their own [service.NAME] log_level get theirs back at once; a changed
// [service.NAME] log_level sets that service's logger only, with no
// restart (its run, restart count and generation stay as they are); a
// service that a reload starts or restarts gets its level before it runs.
// Loop thread. Never called with `weftd --log-level` (it fixes every level).
#include <spdlog/spdlog.h>

#include "reload_impl.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

// "service.NAME.log_level" -> NAME; "" for any other key.
std::string level_key_service(const std::string& key) {
  static constexpr std::string_view head = "service.", tail = ".log_level";
  if (key.size() <= head.size() + tail.size() || !key.starts_with(head) || !key.ends_with(tail)) return {};
  const std::string name = key.substr(head.size(), key.size() - head.size() - tail.size());
  return name.find('.') == std::string::npos ? name : std::string();
}

}  // namespace

void apply_live_log_levels(RuntimeControl& rc, const ConfigSection& root, const std::vector<KeyChange>& live) {
  spdlog::logger& log = *rc.logger("weft");
  for (const KeyChange& change : live) {
    if (change.key != "weftd.log_level") continue;
    Assembly scratch;
    read_weftd_section(root, scratch);
    const auto level = logging::parse_level(scratch.log_level);
    if (!level) continue;  // validated: cannot happen
    logging::set_default_level(*level);
    // set_default_level set every logger: a service's own level wins over it.
    std::vector<std::string> own;
    for (const std::string& name : rc.service_names())
      if (!service_log_level(root, name).empty()) own.push_back(name);
    apply_service_log_levels(rc, root, own);
    log.info("reload: the default log level is {} now ([weftd] log_level){}", scratch.log_level,
             own.empty() ? "" : "; services with their own log_level keep it");
  }
  for (const KeyChange& change : live) {
    const std::string name = level_key_service(change.key);
    if (name.empty()) continue;
    const std::string level = service_log_level(root, name);
    if (!apply_log_level(rc, name, level)) continue;  // not running (disabled): nothing to set
    if (level.empty())
      log.info("reload: {} logs at the default level now ([service.{}] log_level removed; no restart)", name, name);
    else
      log.info("reload: {} logs at {} now ([service.{}] log_level; no restart)", name, level, name);
  }
}

void apply_service_log_levels(RuntimeControl& rc, const ConfigSection& root, const std::vector<std::string>& names) {
  for (const std::string& name : names) apply_log_level(rc, name, service_log_level(root, name));
}

}  // namespace weft::apps
