// The reload plan on real configs (parsed and assembled as --check-config
// does): which services stop, restart and start, in what order, with which
// keys; what applies live; what refuses the reload.
#include "weft/apps/assembly/reload_plan.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <tuple>

using Catch::Matchers::Contains;
using weft::apps::KeyChange;
using weft::apps::PlanAction;
using weft::apps::PlanEntry;
using weft::apps::ReloadPlan;

namespace {

// A box with every kind of owner: gather (serial + instrument), record
// ([store]), upload (needs record), tap (needs gather), heartbeat, console.
// Nothing is opened by assembling it.
const std::string kBox = R"(
[weftd]
log_level = "info"
data_dir = "/tmp/weft-plan-test/data"

[service.gather]
lock_dir = "/tmp/weft-plan-test"

[[serial]]
name = "rs485"
path = "/tmp/weft-plan-test/ttyUSB0"
baud = 19200

[[instrument]]
name = "boiler"
port = "rs485"
unit = 3
period = "2s"

  [[instrument.point]]
  name = "temperature"
  address = 100
  type = "float32"

[[instrument]]
name = "pump"
port = "rs485"
unit = 4
period = "1s"

  [[instrument.point]]
  name = "speed"
  address = 10

[service.heartbeat]
period = "10s"

[service.tap]
pattern = "*"
needs = ["gather"]

[service.console]
socket = "/tmp/weft-plan-test/weftd.sock"

[store]
path = "/tmp/weft-plan-test/data/readings.db"
batch_rows = 500

[service.record]
pattern = "*"

[service.upload]
url = "mqtt://127.0.0.1:1883"
)";

weft::apps::CheckedConfig checked(const std::string& text, const std::string& name = "new.toml") {
  return weft::apps::check_config(weft::Config::parse(text, name));
}

// The config with the first `from` replaced by `to` (which must be there).
std::string edited(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

ReloadPlan plan(const std::string& running, const std::string& next) {
  const auto was = checked(running, "old.toml");
  const auto will = checked(next, "new.toml");
  return weft::apps::plan_reload(was, will);
}

std::vector<std::string> actions(const ReloadPlan& p) {
  std::vector<std::string> out;
  for (const PlanEntry& e : p.services) out.push_back(std::string(to_string(e.action)) + " " + e.service);
  return out;
}

const PlanEntry& entry(const ReloadPlan& p, const std::string& service) {
  const auto it = std::find_if(p.services.begin(), p.services.end(), [&](const auto& e) { return e.service == service; });
  REQUIRE(it != p.services.end());
  return *it;
}

bool has_change(const std::vector<KeyChange>& changes, const std::string& key, const std::string& before,
                const std::string& after) {
  return std::any_of(changes.begin(), changes.end(), [&](const KeyChange& c) {
    return c.key == key && c.before.value_or("unset") == before && c.after.value_or("unset") == after;
  });
}

}  // namespace

TEST_CASE("reload plan: an identical config plans nothing", "[reload][assembly]") {
  const ReloadPlan p = plan(kBox, kBox);
  CHECK(p.is_empty());
  CHECK_FALSE(p.is_refused());
  CHECK(p.unchanged.size() == 6);
}

TEST_CASE("reload plan: configs compare by effect, defaults applied", "[reload][assembly]") {
  // "2s" written as "2000ms", a default written out, a [weftd] key at its default: no change.
  std::string same = edited(kBox, "period = \"2s\"", "period = \"2000ms\"");
  same = edited(same, "pattern = \"*\"\nneeds", "pattern = \"*\"\ncapacity = 256\nneeds");
  same = edited(same, "log_level = \"info\"", "log_level = \"info\"\nstop_grace = \"5s\"");
  const ReloadPlan p = plan(kBox, same);
  INFO(actions(p).size());
  CHECK(p.is_empty());
}

TEST_CASE("reload plan: one instrument's period changed restarts only gather and what needs it", "[reload][assembly]") {
  const ReloadPlan p = plan(kBox, edited(kBox, "period = \"1s\"", "period = \"5s\""));
  CHECK_FALSE(p.is_refused());
  CHECK(actions(p) == std::vector<std::string>{"restart gather", "restart tap"});
  const PlanEntry& gather = entry(p, "gather");
  CHECK(gather.reason == "its config changed");
  CHECK(has_change(gather.changes, "instrument[pump].period", "\"1s\"", "\"5s\""));
  CHECK(gather.changes.size() == 1);
  const PlanEntry& tap = entry(p, "tap");
  CHECK(tap.reason == "needs gather, which restarts");
  CHECK(tap.changes.empty());
  for (const char* untouched : {"heartbeat", "console", "record", "upload"})
    CHECK(std::find(p.unchanged.begin(), p.unchanged.end(), untouched) != p.unchanged.end());
}

TEST_CASE("reload plan: [store] batch_rows changed on the same file restarts record and upload on it", "[reload][assembly]") {
  const ReloadPlan p = plan(kBox, edited(kBox, "batch_rows = 500", "batch_rows = 100"));
  // The transaction closes the running Store between the stops and the
  // starts (store_swap.hpp): nothing refuses, nothing is left behind.
  CHECK_FALSE(p.is_refused());
  CHECK_FALSE(p.store_moved);
  CHECK(p.warnings.empty());
  CHECK(actions(p) == std::vector<std::string>{"restart record", "restart upload"});
  CHECK(has_change(entry(p, "record").changes, "store.batch_rows", "500", "100"));
  // upload reads the same store: [store] is its setting too.
  CHECK(has_change(entry(p, "upload").changes, "store.batch_rows", "500", "100"));
  CHECK(entry(p, "upload").reason == "its config changed");
}

TEST_CASE("reload plan: a [store] path spelled differently is the same file", "[reload][assembly]") {
  const ReloadPlan p = plan(kBox, edited(edited(kBox, "batch_rows = 500", "batch_rows = 100"), "data/readings.db",
                                         "data/./readings.db"));
  CHECK_FALSE(p.is_refused());
  CHECK_FALSE(p.store_moved);
  CHECK(p.warnings.empty());
  CHECK(actions(p) == std::vector<std::string>{"restart record", "restart upload"});
}

TEST_CASE("reload plan: a new [store] path restarts record on the other file and warns of the backlog left", "[reload][assembly]") {
  const ReloadPlan p = plan(kBox, edited(edited(kBox, "batch_rows = 500", "batch_rows = 100"), "data/readings.db",
                                         "data/other.db"));
  CHECK_FALSE(p.is_refused());
  CHECK(actions(p) == std::vector<std::string>{"restart record", "restart upload"});
  CHECK(has_change(entry(p, "record").changes, "store.batch_rows", "500", "100"));
  REQUIRE(p.store_moved);
  CHECK(p.store_moved->first == "/tmp/weft-plan-test/data/readings.db");
  CHECK(p.store_moved->second == "/tmp/weft-plan-test/data/other.db");
  REQUIRE(p.warnings.size() == 1);
  CHECK_THAT(p.warnings[0], Contains("stay in /tmp/weft-plan-test/data/readings.db") &&
                                Contains("upload on /tmp/weft-plan-test/data/other.db never sends them"));
  CHECK_THAT(weft::apps::store_move_warning("/a.db", "/b.db", 42), Contains("42 readings not yet delivered by upload"));
}

TEST_CASE("reload plan: a service added, removed or disabled", "[reload][assembly]") {
  const std::string without_heartbeat = edited(kBox, "[service.heartbeat]\nperiod = \"10s\"\n", "");
  SECTION("added: starts") {
    const ReloadPlan p = plan(without_heartbeat, kBox);
    CHECK(actions(p) == std::vector<std::string>{"start heartbeat"});
    CHECK(entry(p, "heartbeat").reason == "added to the config");
    CHECK(has_change(entry(p, "heartbeat").changes, "service.heartbeat.period", "unset", "\"10s\""));
  }
  SECTION("removed: stops") {
    const ReloadPlan p = plan(kBox, without_heartbeat);
    CHECK(actions(p) == std::vector<std::string>{"stop heartbeat"});
    CHECK(entry(p, "heartbeat").reason == "removed from the config");
  }
  SECTION("disabled: stops; enabled again: starts") {
    const std::string disabled = edited(kBox, "[service.heartbeat]\nperiod = \"10s\"\n", "[service.heartbeat]\nenabled = false\n");
    const ReloadPlan off = plan(kBox, disabled);
    CHECK(actions(off) == std::vector<std::string>{"stop heartbeat"});
    CHECK(entry(off, "heartbeat").reason == "disabled (enabled = false)");
    CHECK(has_change(entry(off, "heartbeat").changes, "service.heartbeat.enabled", "true", "false"));
    const ReloadPlan on = plan(disabled, kBox);
    CHECK(actions(on) == std::vector<std::string>{"start heartbeat"});
    CHECK(entry(on, "heartbeat").reason == "enabled again");
  }
  SECTION("stops come first, dependents before what they need") {
    // Without record there is no upload either; gather's tap stays.
    std::string no_store = edited(kBox, "[service.record]\npattern = \"*\"\n", "");
    no_store = edited(no_store, "[service.upload]\nurl = \"mqtt://127.0.0.1:1883\"\n", "");
    no_store = edited(no_store, "[store]\npath = \"/tmp/weft-plan-test/data/readings.db\"\nbatch_rows = 500\n", "");
    const ReloadPlan p = plan(kBox, edited(no_store, "period = \"10s\"", "period = \"20s\""));
    CHECK(actions(p) == std::vector<std::string>{"stop upload", "stop record", "restart heartbeat"});
  }
}

TEST_CASE("reload plan: needs order restarts what is needed before its dependents", "[reload][assembly]") {
  // tap needs heartbeat, heartbeat changes, and tap comes first in the file.
  const std::string running = R"(
[service.tap]
pattern = "*"
needs = ["heartbeat"]

[service.console]
socket = "/tmp/weft-plan-test/weftd.sock"

[service.heartbeat]
period = "10s"
)";
  const ReloadPlan p = plan(running, edited(running, "period = \"10s\"", "period = \"1s\""));
  CHECK(actions(p) == std::vector<std::string>{"restart heartbeat", "restart tap"});
  CHECK(p.unchanged == std::vector<std::string>{"console"});
}

TEST_CASE("reload plan: log_level applies without a restart", "[reload][assembly]") {
  const ReloadPlan p = plan(kBox, edited(kBox, "log_level = \"info\"", "log_level = \"debug\""));
  CHECK(p.services.empty());
  CHECK_FALSE(p.is_refused());
  REQUIRE(p.live.size() == 1);
  CHECK(has_change(p.live, "weftd.log_level", "\"info\"", "\"debug\""));
  SECTION("also when [weftd] appears or goes") {
    const std::string no_weftd =
        edited(kBox, "[weftd]\nlog_level = \"info\"\ndata_dir = \"/tmp/weft-plan-test/data\"\n", "");
    const std::string only_level = edited(no_weftd, "[service.gather]", "[weftd]\nlog_level = \"warn\"\n\n[service.gather]");
    const ReloadPlan q = plan(no_weftd, only_level);
    CHECK(q.services.empty());
    CHECK_FALSE(q.is_refused());
    CHECK(has_change(q.live, "weftd.log_level", "\"info\"", "\"warn\""));
  }
}

TEST_CASE("reload plan: watch_config written out at its default is no change", "[reload][assembly]") {
  CHECK(plan(kBox, edited(kBox, "log_level = \"info\"", "log_level = \"info\"\nwatch_config = false")).is_empty());
}

TEST_CASE("reload plan: watch_config switched on or off applies live, restarting nothing", "[reload][assembly]") {
  const std::string on = edited(kBox, "log_level = \"info\"", "log_level = \"info\"\nwatch_config = true");
  for (const auto& [from, to] : {std::pair{kBox, on}, std::pair{on, kBox}}) {
    const ReloadPlan p = plan(from, to);
    CHECK(p.services.empty());
    CHECK_FALSE(p.is_refused());
    REQUIRE(p.live.size() == 1);
    CHECK(p.live[0].key == "weftd.watch_config");
  }
}

TEST_CASE("reload plan: a service's log_level alone applies live, with another key it restarts", "[reload][assembly]") {
  const std::string debug_gather = edited(kBox, "[service.gather]\n", "[service.gather]\nlog_level = \"debug\"\n");
  SECTION("set, changed, removed: live, gather and tap untouched") {
    const std::string warn_gather = edited(debug_gather, "log_level = \"debug\"", "log_level = \"warn\"");
    for (const auto& [from, to, before, after] :
         {std::tuple{kBox, debug_gather, "unset", "\"debug\""}, std::tuple{debug_gather, warn_gather, "\"debug\"", "\"warn\""},
          std::tuple{debug_gather, kBox, "\"debug\"", "unset"}}) {
      const ReloadPlan p = plan(from, to);
      CHECK(p.services.empty());
      CHECK_FALSE(p.is_refused());
      REQUIRE(p.live.size() == 1);
      CHECK(has_change(p.live, "service.gather.log_level", before, after));
      CHECK(p.unchanged.size() == 6);
    }
  }
  SECTION("with another of its keys: it restarts, the level among its changes") {
    const ReloadPlan p = plan(kBox, edited(debug_gather, "period = \"1s\"", "period = \"5s\""));
    CHECK(actions(p) == std::vector<std::string>{"restart gather", "restart tap"});
    const PlanEntry& gather = entry(p, "gather");
    CHECK(gather.changes.size() == 2);
    CHECK(has_change(gather.changes, "service.gather.log_level", "unset", "\"debug\""));
    CHECK(has_change(gather.changes, "instrument[pump].period", "\"1s\"", "\"5s\""));
    CHECK(p.live.empty());
  }
  SECTION("with another service's change: each on its own") {
    const ReloadPlan p = plan(kBox, edited(debug_gather, "period = \"10s\"", "period = \"20s\""));
    CHECK(actions(p) == std::vector<std::string>{"restart heartbeat"});
    REQUIRE(p.live.size() == 1);
    CHECK(p.live[0].key == "service.gather.log_level");
  }
  SECTION("with a [weftd] log_level change: both live") {
    const ReloadPlan p = plan(kBox, edited(debug_gather, "log_level = \"info\"", "log_level = \"warn\""));
    CHECK(p.services.empty());
    REQUIRE(p.live.size() == 2);
    CHECK(p.live[0].key == "weftd.log_level");
    CHECK(p.live[1].key == "service.gather.log_level");
  }
  SECTION("a disabled service's level: nothing to apply") {
    const std::string off = edited(kBox, "[service.heartbeat]\nperiod", "[service.heartbeat]\nenabled = false\nperiod");
    CHECK(plan(off, edited(off, "enabled = false\n", "enabled = false\nlog_level = \"debug\"\n")).is_empty());
  }
}

TEST_CASE("reload plan: a key that only changes at start refuses the reload, naming it", "[reload][assembly]") {
  SECTION("data_dir") {
    const std::string next = edited(kBox, "data_dir = \"/tmp/weft-plan-test/data\"", "data_dir = \"/tmp/elsewhere\"");
    const ReloadPlan p = plan(kBox, next);
    REQUIRE(p.refused.size() == 1);
    CHECK(p.refused[0].change.key == "weftd.data_dir");
    CHECK(p.refused[0].where == "new.toml:4:12");
    const std::string message = weft::apps::refusal_message(p.refused[0]);
    CHECK_THAT(message, Contains("[weftd] data_dir changed (\"/tmp/weft-plan-test/data\" -> \"/tmp/elsewhere\") at new.toml:4:12"));
    CHECK_THAT(message, Contains("run `systemctl restart weftd`"));
  }
  SECTION("blocking_threads, also when left out again (its default)") {
    const std::string more = edited(kBox, "log_level = \"info\"", "log_level = \"info\"\nblocking_threads = 4");
    const ReloadPlan p = plan(more, kBox);
    REQUIRE(p.refused.size() == 1);
    CHECK(has_change({p.refused[0].change}, "weftd.blocking_threads", "4", "2"));
    CHECK_THAT(weft::apps::refusal_message(p.refused[0]), Contains("the blocking pool is sized once, at start"));
  }
  SECTION("with other changes: the plan still lists them, but is refused") {
    std::string next = edited(kBox, "data_dir = \"/tmp/weft-plan-test/data\"", "data_dir = \"/tmp/elsewhere\"");
    next = edited(next, "log_level = \"info\"", "log_level = \"info\"\nstop_grace = \"9s\"");
    const ReloadPlan p = plan(kBox, edited(next, "period = \"10s\"", "period = \"20s\""));
    CHECK(p.is_refused());
    CHECK(p.refused.size() == 2);
    CHECK(actions(p) == std::vector<std::string>{"restart heartbeat"});
  }
}

TEST_CASE("reload plan: config diff lists every effective key that differs", "[reload][assembly]") {
  std::string next = edited(kBox, "period = \"1s\"", "period = \"5s\"");
  next = edited(next, "pattern = \"*\"\nneeds", "pattern = \"boiler.*\"\nneeds");
  const auto was = checked(kBox, "old.toml");
  const auto will = checked(next);
  const std::vector<KeyChange> d = weft::apps::diff_configs(was, will);
  CHECK(d.size() == 2);
  CHECK(has_change(d, "instrument[pump].period", "\"1s\"", "\"5s\""));
  CHECK(has_change(d, "service.tap.pattern", "\"*\"", "\"boiler.*\""));
  CHECK(weft::apps::diff_configs(was, checked(kBox)).empty());
}
