// Configuration read from TOML: typed getters with fallbacks, durations with units,
// and errors that say file:line:column, the full key, what was wrong and what to do.
// Sections share the document through a shared_ptr, so a ConfigSection stays valid
// even after the Config it came from is gone. Copies of a section (and every section
// obtained for the same table) share one record of which keys were read; that record
// is guarded by a mutex, so sections may be read from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "weft/core/clock.hpp"

namespace weft {

namespace detail {
struct ConfigDocument;  // the parsed toml::table plus per-table bookkeeping (config.cpp)
struct TableState;      // one table's path and the keys read from it
}  // namespace detail

// Every message says where (file:line:column), which key, what was wrong and what to do.
class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class Config;

// A view of one TOML table that remembers its dotted path for messages.
class ConfigSection {
public:
  const std::string& path() const;  // e.g. "service.heartbeat"; "" for the root
  bool has(std::string_view key) const;

  // A missing key returns the fallback; a present key of the wrong type, or out of
  // range, throws ConfigError. Every getter marks the key as used.
  std::string string(std::string_view key, std::string fallback) const;
  std::string required_string(std::string_view key) const;  // missing: error at the table
  std::int64_t integer(std::string_view key, std::int64_t fallback,
                       std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX) const;
  double number(std::string_view key, double fallback) const;  // accepts integers too
  bool boolean(std::string_view key, bool fallback) const;
  // "<number><unit>", unit one of ns us ms s m h d: "250ms", "1.5s", "10m".
  Duration duration(std::string_view key, Duration fallback,
                    Duration min = Duration::zero(), Duration max = Duration::max()) const;
  std::vector<std::string> string_array(std::string_view key) const;  // missing: empty
  std::vector<double> number_array(std::string_view key) const;       // integers too; missing: empty
  std::optional<ConfigSection> table(std::string_view key) const;     // missing: nullopt
  std::vector<ConfigSection> tables(std::string_view key) const;      // [[key]]; missing: empty
  std::vector<std::string> keys() const;                               // in file order
  // The value of `key` written as TOML ("[1, 2.5]", "\"x\"", "{ a = 1 }"), for
  // showing the effective config; nullopt for a missing key, a table or an
  // array of tables (walk those with table()/tables()). Marks nothing used.
  std::optional<std::string> value_as_toml(std::string_view key) const;
  // What the getters returned for this table's keys, by key, as TOML text
  // (strings quoted, durations in their largest exact unit: "\"1500ms\""):
  // the file's value, or the fallback the reader passed when the key is
  // absent. So after a reader ran, this is the table's effective config,
  // defaults applied, and two configs compare by effect ("1000ms" equals
  // "1s", a key left out equals its default written out). Keys no getter
  // read are absent; table()/tables() record nothing here.
  std::map<std::string, std::string> effective_values() const;
  const std::string& source_name() const;  // the file (or name) the document was parsed from
  Config document() const;                 // the whole document this section belongs to

  // Throws for the first key (in file order) of this table that no getter and no
  // table()/tables() call touched. Sub-tables check themselves.
  void reject_unknown_keys() const;
  // Throws "<file>:<line>:<col>: <path.key>: <message>", located at the key's value,
  // or at the table when the key is absent.
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;
  std::string where(std::string_view key) const;  // "file:line:col" of the value, or of the table

private:
  friend class Config;
  ConfigSection(std::shared_ptr<detail::ConfigDocument> document, detail::TableState* state);
  ConfigSection child(detail::TableState* state) const;

  std::shared_ptr<detail::ConfigDocument> document_;
  detail::TableState* state_;
};

// A parsed TOML document. Cheap to move; copies share the same document.
class Config {
public:
  // Unreadable file: "<path>: cannot read config file: <errno text>. ..."
  // Syntax error: "<path>:<line>:<col>: <toml++ description>".
  static Config load_file(const std::filesystem::path& file);
  static Config parse(std::string_view text, std::string source_name);

  ConfigSection root() const;
  const std::string& source_name() const;

private:
  friend class ConfigSection;
  explicit Config(std::shared_ptr<detail::ConfigDocument> document);

  std::shared_ptr<detail::ConfigDocument> document_;
};

}  // namespace weft
