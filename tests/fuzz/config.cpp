// Fuzz target: config reading: toml++ (compiled into this target, so its
// parser is instrumented too) and weft's typed readers (core/src/config.cpp:
// strings, integers with ranges, numbers, booleans, durations, string
// arrays, tables, arrays of tables, unknown keys) plus the per-service
// readers that build without Asio: [store] (sizes, the synchronous enum,
// durations; apps/assembly/store_config.cpp), [realtime] (CPU lists, the
// policy, sizes; apps/assembly/realtime_config.cpp), [service.upload] (broker URL,
// topic template, credentials; apps/upload/upload_config.cpp) and
// [service.console] (socket path, group; apps/console/console_settings.cpp).
// gather's reader (serial, instruments, points) includes rtu_master.hpp,
// which Debian's clang 14 cannot compile (std::source_location), and
// assemble() needs every service: both are fuzzed only through these parts.
// Invariants:
// - every refusal is a ConfigError that starts with the file name and says
//   which key (the key's name is in the message);
// - a value a getter accepted, written back as its effective TOML text,
//   reads again to the same value (configs compare by effect on reload);
// - reject_unknown_keys() after every key was read refuses nothing.
#include <cstring>
#include <string>

#include "fuzz_support.hpp"
#include "weft/apps/assembly/realtime_config.hpp"
#include "weft/apps/assembly/store_config.hpp"
#include "weft/apps/upload/upload_config.hpp"
#include "weft/core/config.hpp"

#include "../../apps/console/console_server.hpp"  // read_console_settings (private to the console)

namespace {

using namespace weft;

constexpr const char* kSource = "fuzz.toml";

void check_error(const ConfigError& e, std::string_view key) {
  const std::string_view what = e.what();
  FUZZ_CHECK(what.starts_with(kSource), "error does not say where: %s", e.what());
  FUZZ_CHECK(what.size() > std::strlen(kSource) + 4, "error says nothing: %s", e.what());
  FUZZ_CHECK(key.empty() || what.find(key) != std::string_view::npos, "error does not name key '%.*s': %s",
             static_cast<int>(key.size()), key.data(), e.what());
}

// Reads `text` (a getter's effective value) back as key "k" with the same getter.
template <typename Read>
auto reread(const std::string& text, Read read) {
  const Config again = Config::parse("k = " + text + "\n", kSource);
  return read(again.root());
}

void walk(const ConfigSection& table, int depth) {
  if (depth > 4) return;
  const std::vector<std::string> keys = table.keys();
  for (const std::string& key : keys) {
    FUZZ_CHECK(table.has(key), "keys() lists '%s' but has() denies it", key.c_str());
    try {
      const std::string s = table.string(key, "");
      FUZZ_CHECK(reread(table.effective_values().at(key), [](const ConfigSection& r) { return r.string("k", "?"); }) == s,
                 "string does not re-read");
    } catch (const ConfigError& e) { check_error(e, key); }
    try {
      const std::int64_t n = table.integer(key, 0, -1000, 1000);
      FUZZ_CHECK(n >= -1000 && n <= 1000, "integer out of its range");
      FUZZ_CHECK(reread(table.effective_values().at(key), [](const ConfigSection& r) { return r.integer("k", 7); }) == n,
                 "integer does not re-read");
    } catch (const ConfigError& e) { check_error(e, key); }
    try {
      const double x = table.number(key, 0);
      const double y = reread(table.effective_values().at(key), [](const ConfigSection& r) { return r.number("k", 7); });
      FUZZ_CHECK(x == y || (x != x && y != y), "number does not re-read");
    } catch (const ConfigError& e) {
      // format_double writes inf and nan as "inf"/"nan", which TOML reads; a refusal here is the first read's.
      check_error(e, key);
    }
    try {
      const bool b = table.boolean(key, false);
      FUZZ_CHECK(reread(table.effective_values().at(key), [](const ConfigSection& r) { return r.boolean("k", false); }) == b,
                 "boolean does not re-read");
    } catch (const ConfigError& e) { check_error(e, key); }
    try {
      const Duration d = table.duration(key, Duration::zero());
      FUZZ_CHECK(d >= Duration::zero(), "a negative duration");
      FUZZ_CHECK(reread(table.effective_values().at(key),
                        [](const ConfigSection& r) { return r.duration("k", std::chrono::seconds(7)); }) == d,
                 "duration %s does not re-read", table.effective_values().at(key).c_str());
    } catch (const ConfigError& e) { check_error(e, key); }
    try {
      (void)table.duration(key, Duration::zero(), std::chrono::milliseconds(1), std::chrono::hours(1));
    } catch (const ConfigError& e) { check_error(e, key); }
    try {
      const std::vector<std::string> a = table.string_array(key);
      FUZZ_CHECK(reread(table.effective_values().at(key), [](const ConfigSection& r) { return r.string_array("k"); }) == a,
                 "string array does not re-read");
    } catch (const ConfigError& e) { check_error(e, key); }
    (void)table.value_as_toml(key);
    try {
      if (const auto sub = table.table(key)) walk(*sub, depth + 1);
    } catch (const ConfigError& e) { check_error(e, key); }
    try {
      for (const ConfigSection& entry : table.tables(key)) walk(entry, depth + 1);
    } catch (const ConfigError& e) { check_error(e, key); }
  }
  table.reject_unknown_keys();  // every key was read: must not throw
}

template <typename Read>
void service_reader(const std::optional<ConfigSection>& section, Read read) {
  if (!section) return;
  try {
    read(*section);
  } catch (const ConfigError& e) {
    check_error(e, {});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<Config> config;
  try {
    config.emplace(Config::parse(text, kSource));
  } catch (const ConfigError& e) {
    check_error(e, {});
    return 0;
  }
  const ConfigSection root = config->root();
  try {
    (void)apps::read_store_config(root);
  } catch (const ConfigError& e) {
    check_error(e, {});
  }
  try {
    (void)apps::read_realtime_config(root);
  } catch (const ConfigError& e) {
    check_error(e, {});
  }
  std::optional<ConfigSection> services;
  try {
    services = root.table("service");
  } catch (const ConfigError& e) {
    check_error(e, "service");
  }
  if (services) {
    std::optional<ConfigSection> upload, console;
    try {
      upload = services->table("upload");
      console = services->table("console");
    } catch (const ConfigError& e) {
      check_error(e, {});
    }
    // password_file names a file to read: an input could name /dev/zero, which
    // is no parser bug, so the upload reader sees only inputs that cannot
    // spell that key (TOML escapes in quoted keys included).
    const bool may_name_a_file = text.find("password") != std::string_view::npos &&
                                 (text.find("file") != std::string_view::npos || text.find('\\') != std::string_view::npos);
    if (!may_name_a_file)
      service_reader(upload, [](const ConfigSection& s) { (void)apps::read_upload_settings(s); });
    service_reader(console, [](const ConfigSection& s) { (void)apps::read_console_settings(s); });
  }
  walk(Config::parse(text, kSource).root(), 0);  // a fresh document: nothing read yet
  return 0;
}
