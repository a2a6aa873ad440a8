// What a reload hands the running ca service without restarting it
// (ServiceSpec::take_live; the keys are declared in ca.cpp's factory): the
// [[service.ca.access]] rules and each [[soft_point]]'s `writable`. They
// live in one LiveSettings per spec, which the spec's runs read their
// rights from, so they hold for the run serving now and for any later run
// of the same spec (a restart by supervision, `restart ca`).
//
// Guarantees: taking new rules is done on the loop in one step, with no
// await: when take_live returns, every open channel whose rights changed
// has its ACCESS_RIGHTS queued (before any request the circuit takes
// next, which is judged by the new rules), its circuit stays open, and a
// monitor that lost its read right got its one ECA_NORDACCESS update
// (refresh_rights). Circuits, channels, subscriptions, writes waiting for
// a device or the disk are untouched (a write accepted before the change
// completes: it was judged when it was received).
#include "ca_server.hpp"

namespace weft::apps::ca_server {

std::shared_ptr<LiveSettings> make_live(const Settings& settings) {
  auto live = std::make_shared<LiveSettings>();
  live->access = settings.access;
  for (const SoftPoint& sp : settings.soft_points)
    if (sp.writable) live->writable_soft.insert(sp.name);
  return live;
}

void take_live(LiveSettings& live, const Settings& next) {
  const std::shared_ptr<LiveSettings> fresh = make_live(next);
  live.access = std::move(fresh->access);
  live.writable_soft = std::move(fresh->writable_soft);
  if (live.running != nullptr) refresh_rights(*live.running, "a reload changed the access rules (no restart)");
}

LiveRun::LiveRun(Server& s) : s_(s) { s_.s.live->running = &s_; }

LiveRun::~LiveRun() {
  if (s_.s.live->running == &s_) s_.s.live->running = nullptr;
}

}  // namespace weft::apps::ca_server
