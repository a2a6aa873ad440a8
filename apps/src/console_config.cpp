// `config`: the effective configuration, re-serialised from the parsed
// document as TOML (tables in file order, arrays of tables as [[...]]),
// with the values of secret-looking keys (password, secret, token, ...)
// masked. It walks ConfigSection's public getters, trying each type in
// turn: the document keeps no other public view of its values.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "weft/apps/console_commands.hpp"
#include "weft/apps/console_protocol.hpp"

namespace weft::apps {
namespace {

bool is_secret(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"password", "passwd", "secret", "token", "passphrase", "psk", "credential", "private_key"})
    if (key.find(word) != std::string::npos) return true;
  return false;
}

std::string toml_key(const std::string& key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  return bare ? key : console::json_string(key);  // a TOML basic string escapes as JSON does
}

std::string toml_double(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (s == "inf") return "inf";
  if (s == "-inf") return "-inf";
  if (s == "nan" || s == "-nan") return "nan";
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// The value of a non-table key as TOML, or nullopt if it is a table or an array of tables.
std::optional<std::string> scalar(const ConfigSection& t, const std::string& key) {
  try { return console::json_string(t.string(key, "")); } catch (const ConfigError&) {}
  try { return t.boolean(key, false) ? "true" : "false"; } catch (const ConfigError&) {}
  try { return std::to_string(t.integer(key, 0)); } catch (const ConfigError&) {}
  try { return toml_double(t.number(key, 0)); } catch (const ConfigError&) {}
  try {
    std::string out = "[";
    for (const auto& s : t.string_array(key)) out += (out.size() > 1 ? ", " : "") + console::json_string(s);
    return out + "]";
  } catch (const ConfigError&) {}
  return std::nullopt;
}

void render_table(const ConfigSection& t, const std::string& path, bool array_entry, std::string& out) {
  std::vector<std::pair<std::string, ConfigSection>> subtables;
  std::vector<std::pair<std::string, std::vector<ConfigSection>>> arrays;
  std::string body;
  for (const std::string& key : t.keys()) {
    if (auto value = scalar(t, key)) {
      body += toml_key(key) + " = " + (is_secret(key) ? "\"********\"" : *value) + "\n";
      continue;
    }
    try {
      if (auto sub = t.table(key)) {
        subtables.emplace_back(key, *sub);
        continue;
      }
    } catch (const ConfigError&) {}
    try {
      arrays.emplace_back(key, t.tables(key));
      continue;
    } catch (const ConfigError&) {}
    body += "# " + toml_key(key) + ": an array of numbers or of mixed values (not shown)\n";
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
