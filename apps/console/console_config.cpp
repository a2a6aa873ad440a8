// `config`: the effective configuration, re-serialised from the parsed
// document as TOML (tables in file order, arrays of tables as [[...]]),
// with the values of secret-looking keys (password, secret, token, ...)
// masked. Values are written by ConfigSection::value_as_toml (toml++'s
// formatter); this file only walks the tables and masks.
#include <algorithm>
#include <cctype>

#include "weft/apps/console/console_commands.hpp"
#include "weft/apps/console/console_protocol.hpp"

namespace weft::apps {

bool is_secret_key(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"password", "passwd", "secret", "token", "passphrase", "psk", "credential", "private_key"})
    if (key.find(word) != std::string::npos) return true;
  return false;
}

namespace {

std::string toml_key(const std::string& key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  return bare ? key : console::json_string(key);  // a TOML basic string escapes as JSON does
}

void render_table(const ConfigSection& t, const std::string& path, bool array_entry, std::string& out) {
  std::vector<std::pair<std::string, ConfigSection>> subtables;
  std::vector<std::pair<std::string, std::vector<ConfigSection>>> arrays;
  std::string body;
  for (const std::string& key : t.keys()) {
    if (auto value = t.value_as_toml(key)) {
      body += toml_key(key) + " = " + (is_secret_key(key) ? "\"********\"" : *value) + "\n";
      continue;
    }
    // Not a value: a table or an array of tables (table() throws for those).
    std::optional<ConfigSection> sub;
    try {
      sub = t.table(key);
    } catch (const ConfigError&) {
    }
    if (sub) subtables.emplace_back(key, *sub);
    else arrays.emplace_back(key, t.tables(key));
  }
  if (!path.empty() && (array_entry || !body.empty() || subtables.empty()))
    out += (out.empty() ? "" : "\n") + (array_entry ? "[[" + path + "]]\n" : "[" + path + "]\n");
  out += body;
  for (const auto& [key, sub] : subtables) render_table(sub, path.empty() ? toml_key(key) : path + "." + toml_key(key), false, out);
  for (const auto& [key, entries] : arrays)
    for (const auto& entry : entries)
      render_table(entry, path.empty() ? toml_key(key) : path + "." + toml_key(key), true, out);
}

}  // namespace

std::string render_config(const ConfigSection& root) {
  std::string out;
  render_table(root, "", false, out);
  return out;
}

}  // namespace weft::apps
