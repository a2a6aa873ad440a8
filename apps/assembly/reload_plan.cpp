// The reload plan (reload_plan.hpp): both configs flattened to dotted keys
// with their effective values, split by owner (a service's own table, the
// shared tables its catalog entry declares, [weftd]), compared, then
// ordered by the needs graph. A changed key nobody owns refuses the
// reload: an unowned change must never be silently ignored.
#include "weft/apps/assembly/reload_plan.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <system_error>

#include "weft/apps/assembly/catalog.hpp"

namespace weft::apps {
namespace {

using Flat = std::map<std::string, std::string>;  // dotted key -> TOML text

std::string join(const std::string& label, const std::string& key) { return label.empty() ? key : label + "." + key; }

// How an array entry is named in dotted keys: its `name`, else its index.
std::string entry_label(const ConfigSection& entry, std::size_t index) {
  const auto values = entry.effective_values();
  const auto name = values.find("name");
  if (name != values.end() && name->second.size() >= 2 && name->second.front() == '"' &&
      name->second.find('\\') == std::string::npos)
    return name->second.substr(1, name->second.size() - 2);
  return std::to_string(index);
}

void flatten(const ConfigSection& table, const std::string& label, Flat& out);

// One key of `parent` that holds a table or an array of tables.
void flatten_key(const ConfigSection& parent, const std::string& key, const std::string& label, Flat& out) {
  if (parent.value_as_toml(key)) return;  // a plain value: effective_values() has it
  std::optional<ConfigSection> sub;
  try {
    sub = parent.table(key);
  } catch (const ConfigError&) {  // an array of tables: table() refuses those
  }
  if (sub) {
    flatten(*sub, label, out);
    return;
  }
  const std::vector<ConfigSection> entries = parent.tables(key);
  for (std::size_t i = 0; i < entries.size(); ++i) flatten(entries[i], label + "[" + entry_label(entries[i], i) + "]", out);
}

void flatten(const ConfigSection& table, const std::string& label, Flat& out) {
  for (const auto& [key, value] : table.effective_values()) out[join(label, key)] = value;
  for (const std::string& key : table.keys()) flatten_key(table, key, join(label, key), out);
}

// [weftd] with defaults applied even when the table is absent: then the
// reader's defaults come from an empty [weftd] (a table left out equals
// its defaults written out).
Flat weftd_keys(const ConfigSection& root) {
  Flat out;
  if (const auto weftd = root.table("weftd")) {
    flatten(*weftd, "weftd", out);
    return out;
  }
  const Config defaults = Config::parse("[weftd]\n", "(defaults)");
  Assembly scratch;
  read_weftd_section(defaults.root(), scratch);
  flatten(*defaults.root().table("weftd"), "weftd", out);
  return out;
}

std::optional<ConfigSection> service_table(const ConfigSection& root, const std::string& name) {
  const auto services = root.table("service");
  return services ? services->table(name) : std::nullopt;
}

// A service's keys: its own [service.NAME] and the shared tables it reads.
Flat service_keys(const ConfigSection& root, const std::string& name, const std::vector<std::string>& shared) {
  Flat out;
  if (const auto own = service_table(root, name)) flatten(*own, "service." + name, out);
  for (const std::string& table : shared)
    if (root.has(table)) flatten_key(root, table, table, out);
  return out;
}

// The top-level tables a service's settings include: those its factory
// reads (ServiceFactory::root_tables), and [store] for record and upload:
// assemble() reads [store] into the Store that catalog.cpp hands to both,
// so a [store] change restarts each of them on the new Store (upload too
// when its `needs` leave record out: no run may keep the old Store). ca
// holds it too (its put log).
std::vector<std::string> shared_tables(const ServiceFactory& f) {
  std::vector<std::string> tables = f.root_tables;
  if (f.name == "record" || f.name == "upload" || f.name == "ca") tables.push_back("store");
  return tables;
}

std::vector<KeyChange> diff(const Flat& before, const Flat& after) {
  std::vector<KeyChange> out;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      out.push_back({b->first, b->second, std::nullopt});
      ++b;
    } else if (b == before.end() || a->first < b->first) {
      out.push_back({a->first, std::nullopt, a->second});
      ++a;
    } else {
      if (b->second != a->second) out.push_back({b->first, b->second, a->second});
      ++b;
      ++a;
    }
  }
  return out;
}

bool covered_by(const std::string& key, const std::string& prefix) {
  return key == prefix || key.starts_with(prefix + ".") || key.starts_with(prefix + "[");
}

// Why a [weftd] key cannot change while weftd runs (all but log_level).
std::string start_only_reason(const std::string& key) {
  if (key == "data_dir") return "the data-dir lock, dumps and crash reports are set up once, at start";
  if (key == "blocking_threads") return "the blocking pool is sized once, at start";
  if (key == "device") return "the box's name is in every PV name and upload message, read once, at start";
  return "the runtime reads it once, at start";
}

struct Side {
  ConfigSection root;
  std::map<std::string, std::vector<std::string>> needs;  // enabled services
  std::vector<std::string> order;                          // enabled, needs before dependents
};

// Enabled services in dependency order: each after what it needs; ties in
// file order (the needs graph was checked acyclic by assemble()).
Side make_side(const CheckedConfig& checked) {
  Side side{checked.config.root(), {}, {}};
  for (const auto& s : checked.assembly.services) side.needs[s.spec.name] = s.spec.needs;
  std::set<std::string> placed;
  std::function<void(const std::string&)> place = [&](const std::string& name) {
    if (!placed.insert(name).second) return;
    for (const auto& need : side.needs[name]) place(need);
    side.order.push_back(name);
  };
  for (const auto& s : checked.assembly.services) place(s.spec.name);
  return side;
}

bool configured_disabled(const ConfigSection& root, const std::string& name) {
  const auto table = service_table(root, name);
  return table && !table->boolean("enabled", true);
}

// The database file as the store's path claim names it (absolute,
// lexically normal): "data/./readings.db" is the same file as "data/readings.db".
std::string normal_path(const std::string& path) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal().string();
}

std::optional<std::string> store_path(const ConfigSection& root) {
  const auto store = root.table("store");
  if (!store) return std::nullopt;
  try {
    return store->string("path", "");
  } catch (const ConfigError&) {  // validated before; a plan never fails on valid input
    return std::nullopt;
  }
}

// [store] path names another file (both sides have a [store]).
std::optional<std::pair<std::string, std::string>> store_move(const ConfigSection& was, const ConfigSection& will) {
  const auto from = store_path(was);
  const auto to = store_path(will);
  if (!from || !to || normal_path(*from) == normal_path(*to)) return std::nullopt;
  return std::make_pair(*from, *to);
}

bool upload_enabled(const Side& side) { return side.needs.contains("upload"); }

// `key` matches `glob`, where only '*' is special (any run of characters):
// the brackets of "soft_point[*]" are literal.
bool star_match(std::string_view glob, std::string_view key) {
  const auto star = glob.find('*');
  if (star == std::string_view::npos) return glob == key;
  if (!key.starts_with(glob.substr(0, star))) return false;
  const std::string_view rest = glob.substr(star + 1);
  for (std::size_t at = star; at <= key.size(); ++at)
    if (star_match(rest, key.substr(at))) return true;
  return false;
}

// The service takes this key while it runs (ServiceFactory::live_keys).
bool takes_live(const ServiceFactory& f, const std::string& key) {
  return std::any_of(f.live_keys.begin(), f.live_keys.end(),
                     [&](const std::string& glob) { return star_match(glob, key); });
}

}  // namespace

CheckedConfig check_config(Config config) {
  Assembly assembly = assemble(config);
  return CheckedConfig{std::move(config), std::move(assembly)};
}

CheckedConfig check_config_file(const std::filesystem::path& file) { return check_config(Config::load_file(file)); }

std::string_view to_string(PlanAction action) {
  switch (action) {
    case PlanAction::stop: return "stop";
    case PlanAction::restart: return "restart";
    case PlanAction::start: return "start";
  }
  return "?";
}

ReloadPlan plan_reload(const CheckedConfig& running, const CheckedConfig& next) {
  ReloadPlan plan;
  const Side was = make_side(running);
  const Side will = make_side(next);

  // [weftd]: log_level, watch_config, reload_settle and update_settle (read
  // by `version` from the running config) live, the rest only at start.
  for (KeyChange& change : diff(weftd_keys(was.root), weftd_keys(will.root))) {
    const std::string key = change.key.substr(std::string("weftd.").size());
    if (key == "log_level" || key == "watch_config" || key == "reload_settle" || key == "update_settle") {
      plan.live.push_back(std::move(change));
      continue;
    }
    const auto table = will.root.table("weftd");
    const std::string where = table ? table->where(key) : will.root.where("weftd");
    plan.refused.push_back({std::move(change), where, start_only_reason(key)});
  }

  // [store]: record and upload restart on a new Store (their keys include
  // [store]). On the same file the transaction closes the running Store
  // between their stop and their start (apps/reload/store_swap.hpp); on a
  // new file the readings upload has not delivered stay in the old one.
  if (const auto moved = store_move(was.root, will.root)) {
    plan.store_moved = moved;
    if (upload_enabled(was) || upload_enabled(will))
      plan.warnings.push_back(store_move_warning(moved->first, moved->second, std::nullopt));
  }

  // Each known service's keys, on both sides.
  std::map<std::string, std::vector<KeyChange>> changes;
  std::map<std::string, ServiceFactory> factories;
  std::vector<std::string> owned_prefixes{"weftd"};
  for (const ServiceFactory& f : service_catalog()) {
    factories.emplace(f.name, f);
    const std::vector<std::string> shared = shared_tables(f);
    owned_prefixes.push_back("service." + f.name);
    for (const auto& t : shared) owned_prefixes.push_back(t);
    changes[f.name] = diff(service_keys(was.root, f.name, shared), service_keys(will.root, f.name, shared));
  }

  // A changed key outside every owner's tables: refuse rather than ignore it.
  Flat all_was, all_will;
  flatten(was.root, "", all_was);
  flatten(will.root, "", all_will);
  for (KeyChange& change : diff(all_was, all_will)) {
    if (std::any_of(owned_prefixes.begin(), owned_prefixes.end(),
                    [&](const std::string& p) { return covered_by(change.key, p); }))
      continue;
    if (covered_by(change.key, "realtime")) {
      const auto table = will.root.table("realtime");
      const std::string key = change.key.substr(std::string("realtime.").size());
      const std::string where = table ? table->where(key) : will.root.where("");
      plan.refused.push_back({std::move(change), where, "the real-time profile is applied once, before any service starts"});
      continue;
    }
    plan.refused.push_back({std::move(change), will.root.where(""), "no service owns it; weftd reads it once, at start"});
  }

  // Stops: dependents before what they need. The reason says it all; of
  // the keys only `enabled` is worth showing (the rest stop with it).
  for (auto it = was.order.rbegin(); it != was.order.rend(); ++it)
    if (!will.needs.contains(*it)) {
      const bool disabled = configured_disabled(will.root, *it);
      std::vector<KeyChange> shown;
      for (const KeyChange& c : changes[*it])
        if (c.key == "service." + *it + ".enabled") shown.push_back(c);
      plan.services.push_back(
          {*it, PlanAction::stop, disabled ? "disabled (enabled = false)" : "removed from the config", std::move(shown)});
    }

  // Restarts and starts: what is needed before its dependents.
  std::set<std::string> restarting;
  for (const std::string& name : will.order) {
    if (!was.needs.contains(name)) {
      const bool was_disabled = configured_disabled(was.root, name);
      plan.services.push_back({name, PlanAction::start, was_disabled ? "enabled again" : "added to the config", changes[name]});
      continue;
    }
    // Its log_level applies to its logger, live, and so do the keys it
    // takes while running (live_keys); with any other key it restarts (and
    // starts at the new level, with the new settings).
    const std::string level_key = "service." + name + ".log_level";
    const auto factory = factories.find(name);
    std::vector<KeyChange> level, taken;
    bool other = false;
    for (const KeyChange& c : changes[name]) {
      if (c.key == level_key) level.push_back(c);
      else if (factory != factories.end() && takes_live(factory->second, c.key)) taken.push_back(c);
      else other = true;
    }
    if (other) {
      restarting.insert(name);
      plan.services.push_back({name, PlanAction::restart, "its config changed", changes[name]});
      continue;
    }
    for (KeyChange& c : level) plan.live.push_back(std::move(c));
    const auto& needs = will.needs.at(name);
    const auto need = std::find_if(needs.begin(), needs.end(), [&](const std::string& n) { return restarting.contains(n); });
    if (need != needs.end()) {  // the restart brings the live keys too (its new spec has them)
      restarting.insert(name);
      plan.services.push_back({name, PlanAction::restart, "needs " + *need + ", which restarts", std::move(taken)});
      continue;
    }
    if (!taken.empty()) {
      plan.live_services.push_back({name, std::move(taken)});
      continue;
    }
    plan.unchanged.push_back(name);
  }
  return plan;
}

std::vector<KeyChange> diff_configs(const CheckedConfig& running, const CheckedConfig& next) {
  Flat was, will;
  const ConfigSection was_root = running.config.root();
  const ConfigSection will_root = next.config.root();
  flatten(was_root, "", was);
  flatten(will_root, "", will);
  // [weftd] with its defaults on both sides, so a table left out is no difference.
  std::erase_if(was, [](const auto& kv) { return covered_by(kv.first, "weftd"); });
  std::erase_if(will, [](const auto& kv) { return covered_by(kv.first, "weftd"); });
  was.merge(weftd_keys(was_root));
  will.merge(weftd_keys(will_root));
  return diff(was, will);
}

std::string store_move_warning(const std::string& from, const std::string& to, std::optional<std::uint64_t> undelivered) {
  const std::string backlog = undelivered ? std::to_string(*undelivered) + " readings not yet delivered by upload"
                                          : "the readings upload has not yet delivered";
  return "[store] path changes (\"" + from + "\" -> \"" + to + "\"): " + backlog + " stay in " + from +
         "; upload on " + to + " never sends them. To deliver them first, let upload catch up (`upload` shows its "
         "backlog) before changing path, or set path back to " + from;
}

std::string refusal_message(const RefusedKey& r) {
  const std::string& key = r.change.key;
  const auto dot = key.find('.');
  const std::string name = dot == std::string::npos ? key : "[" + key.substr(0, dot) + "] " + key.substr(dot + 1);
  return name + " changed (" + r.change.before.value_or("unset") + " -> " + r.change.after.value_or("unset") + ") at " +
         r.where + ": it can only change at start (" + r.why + "); run `systemctl restart weftd` to apply it";
}

}  // namespace weft::apps
