// The reload plan for settings a service takes while it runs
// (ServiceFactory::live_keys; ca's access rules and soft points'
// writable): listed as live, not restarted; with any other key changed,
// or restarted for a need, the service restarts with them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "weft/apps/assembly/reload_plan.hpp"

using weft::apps::KeyChange;
using weft::apps::PlanAction;
using weft::apps::PlanEntry;
using weft::apps::ReloadPlan;

namespace {  // names of their own: the unity build joins this file with reload_plan_test.cpp

// ca with two access rules and two soft points; tap needs ca (ca has no `needs` key).
const std::string kCaBox = R"(
[weftd]
log_level = "info"

[service.heartbeat]
period = "10s"

[service.ca]
port = 15064
interfaces = ["127.0.0.1"]
device = "box"

[[service.ca.access]]
pv = "box:sp:*"
grant = "write"

[[service.ca.access]]
pv = "*"
user = "guest"
grant = "none"

[[soft_point]]
name = "sp.mode"
type = "enum"
strings = ["off", "auto"]
initial = 1
writable = true

[[soft_point]]
name = "sp.limit"
initial = 5.0

[service.tap]
pattern = "*"
needs = ["ca"]
)";

ReloadPlan live_plan(const std::string& running, const std::string& next) {
  const auto was = weft::apps::check_config(weft::Config::parse(running, "old.toml"));
  const auto will = weft::apps::check_config(weft::Config::parse(next, "new.toml"));
  return weft::apps::plan_reload(was, will);
}

std::string live_edited(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

bool live_has_change(const std::vector<KeyChange>& changes, const std::string& key, const std::string& before,
                const std::string& after) {
  return std::any_of(changes.begin(), changes.end(), [&](const KeyChange& c) {
    return c.key == key && c.before.value_or("unset") == before && c.after.value_or("unset") == after;
  });
}

std::vector<std::string> live_actions(const ReloadPlan& p) {
  std::vector<std::string> out;
  for (const PlanEntry& e : p.services) out.push_back(std::string(to_string(e.action)) + " " + e.service);
  return out;
}

// Live for ca alone: nothing restarts, nothing refused, ca not "untouched".
void check_ca_live(const ReloadPlan& p) {
  for (const auto& e : p.services)
    for (const auto& c : e.changes) UNSCOPED_INFO(e.service << " restarts for " << c.key);
  CHECK(p.services.empty());
  CHECK_FALSE(p.is_refused());
  CHECK_FALSE(p.is_empty());
  REQUIRE(p.live_services.size() == 1);
  CHECK(p.live_services[0].service == "ca");
  CHECK(std::find(p.unchanged.begin(), p.unchanged.end(), "ca") == p.unchanged.end());
  CHECK(p.unchanged == std::vector<std::string>{"heartbeat", "tap"});  // tap needs ca: ca is not restarted
}

}  // namespace

TEST_CASE("reload plan: ca's access rules apply live, without a restart", "[reload][assembly][ca]") {
  SECTION("a grant changed") {
    const ReloadPlan p = live_plan(kCaBox, live_edited(kCaBox, "grant = \"write\"", "grant = \"read\""));
    check_ca_live(p);
    REQUIRE(p.live_services[0].changes.size() == 1);
    CHECK(live_has_change(p.live_services[0].changes, "service.ca.access[0].grant", "\"write\"", "\"read\""));
    CHECK(p.live.empty());
  }
  SECTION("a glob changed, a rule added, a rule removed") {
    check_ca_live(live_plan(kCaBox, live_edited(kCaBox, "pv = \"box:sp:*\"", "pv = \"box:sp:m*\"")));
    const std::string more = live_edited(kCaBox, "[[soft_point]]\nname = \"sp.mode\"",
                                    "[[service.ca.access]]\npv = \"box:x\"\n\n[[soft_point]]\nname = \"sp.mode\"");
    const ReloadPlan added = live_plan(kCaBox, more);
    check_ca_live(added);
    CHECK(live_has_change(added.live_services[0].changes, "service.ca.access[2].pv", "unset", "\"box:x\""));
    const ReloadPlan removed = live_plan(more, kCaBox);
    check_ca_live(removed);
    CHECK(live_has_change(removed.live_services[0].changes, "service.ca.access[2].pv", "\"box:x\"", "unset"));
  }
  SECTION("a soft point's writable, either way (also left out: its default false)") {
    const ReloadPlan off = live_plan(kCaBox, live_edited(kCaBox, "initial = 1\nwritable = true", "initial = 1\nwritable = false"));
    check_ca_live(off);
    CHECK(live_has_change(off.live_services[0].changes, "soft_point[sp.mode].writable", "true", "false"));
    const ReloadPlan on = live_plan(kCaBox, live_edited(kCaBox, "initial = 5.0", "initial = 5.0\nwritable = true"));
    check_ca_live(on);
    CHECK(live_has_change(on.live_services[0].changes, "soft_point[sp.limit].writable", "false", "true"));
  }
  SECTION("with its log_level: the level live too, still no restart") {
    const ReloadPlan p = live_plan(kCaBox, live_edited(live_edited(kCaBox, "grant = \"write\"", "grant = \"read\""), "device = \"box\"",
                                             "device = \"box\"\nlog_level = \"debug\""));
    check_ca_live(p);
    REQUIRE(p.live.size() == 1);
    CHECK(p.live[0].key == "service.ca.log_level");
  }
  SECTION("with another service's change: each on its own") {
    const ReloadPlan p =
        live_plan(kCaBox, live_edited(live_edited(kCaBox, "grant = \"write\"", "grant = \"read\""), "pattern = \"*\"", "pattern = \"box.*\""));
    CHECK(live_actions(p) == std::vector<std::string>{"restart tap"});
    REQUIRE(p.live_services.size() == 1);
    CHECK(p.live_services[0].service == "ca");
  }
}

TEST_CASE("reload plan: any other ca key restarts ca, the live keys among its changes", "[reload][assembly][ca]") {
  SECTION("a port and a grant") {
    const ReloadPlan p =
        live_plan(kCaBox, live_edited(live_edited(kCaBox, "grant = \"write\"", "grant = \"read\""), "port = 15064", "port = 15070"));
    CHECK(live_actions(p) == std::vector<std::string>{"restart ca", "restart tap"});
    CHECK(p.live_services.empty());
    const PlanEntry& ca = p.services[0];
    CHECK(ca.changes.size() == 2);
    CHECK(live_has_change(ca.changes, "service.ca.access[0].grant", "\"write\"", "\"read\""));
    CHECK(live_has_change(ca.changes, "service.ca.port", "15064", "15070"));
  }
  SECTION("a soft point's other keys") {
    CHECK(live_actions(live_plan(kCaBox, live_edited(kCaBox, "initial = 5.0", "initial = 6.0"))) ==
          std::vector<std::string>{"restart ca", "restart tap"});
    CHECK(live_actions(live_plan(kCaBox, live_edited(kCaBox, "strings = [\"off\", \"auto\"]", "strings = [\"off\", \"auto\", \"on\"]"))) ==
          std::vector<std::string>{"restart ca", "restart tap"});
  }
  SECTION("disabled: its rules change nothing") {
    const std::string off = live_edited(kCaBox, "[service.ca]\n", "[service.ca]\nenabled = false\n");
    const std::string no_tap = live_edited(off, "needs = [\"ca\"]", "");
    CHECK(live_plan(no_tap, live_edited(no_tap, "grant = \"write\"", "grant = \"read\"")).is_empty());
  }
}
