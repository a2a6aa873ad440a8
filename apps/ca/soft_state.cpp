// The persisted soft points' state file as text (soft_state.hpp): written
// as TOML by hand (every double in its shortest round-trip form, strings
// escaped), read back through core's Config, so a damaged file's error
// says file:line:col like a config error does.
#include "weft/apps/ca/soft_state.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>

#include "weft/core/config.hpp"

namespace weft::apps::ca_pv {
namespace {

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"') out += "\\\"";
    else if (ch == '\\') out += "\\\\";
    else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", u);
      out += buf;
    } else out += ch;
  }
  return out + "\"";
}

std::string toml_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string out(buf, r.ptr);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";  // TOML: 1 is an integer, 1.0 a float
  return out;
}

std::string toml_value(const weft::Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return toml_double(*d);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* text = std::get_if<std::string>(&v)) return toml_string(*text);
  std::string out = "[";
  for (const double d : std::get<NumberArray>(v).values()) out += (out.size() > 1 ? ", " : "") + toml_double(d);
  return out + "]";
}

}  // namespace

bool fits_type(const std::string& type, const weft::Value& v) noexcept {
  if (type == "number") return std::holds_alternative<double>(v);
  if (type == "integer" || type == "enum") return std::holds_alternative<std::int64_t>(v);
  if (type == "bool") return std::holds_alternative<bool>(v);
  if (type == "text") return std::holds_alternative<std::string>(v);
  if (type == "array") return std::holds_alternative<NumberArray>(v);
  return false;
}

std::string format_soft_state(const SoftState& state) {
  std::string out =
      "# weft ca: the last written value of each persist = true soft point, restored at start.\n"
      "# Replaced whole by weftd on every write (atomic); edit it only while weftd is stopped.\n"
      "version = " + std::to_string(kSoftStateVersion) + "\n";
  for (const auto& [name, pv] : state) {
    out += "\n[[point]]\nname = " + toml_string(name) + "\ntype = " + toml_string(pv.type) +
           "\nvalue = " + toml_value(pv.value) + "\n";
  }
  return out;
}

SoftStateParse parse_soft_state(std::string_view text, const std::string& source) {
  SoftStateParse out;
  try {
    const Config doc = Config::parse(text, source);
    const ConfigSection root = doc.root();
    if (!root.has("version")) root.fail("version", "missing: this is not a weft soft-point state file");
    const std::int64_t version = root.integer("version", 0);
    if (version != kSoftStateVersion) {
      root.fail("version", "version " + std::to_string(version) + " is not " + std::to_string(kSoftStateVersion) +
                               " (written by another weftd version?)");
    }
    for (const ConfigSection& t : root.tables("point")) {
      const std::string name = t.required_string("name");
      if (name.empty()) t.fail("name", "must not be empty");
      PersistedValue pv;
      pv.type = t.required_string("type");
      if (!t.has("value")) t.fail("value", "missing");
      if (pv.type == "number") pv.value = t.number("value", 0);
      else if (pv.type == "integer" || pv.type == "enum") pv.value = t.integer("value", 0);
      else if (pv.type == "bool") pv.value = t.boolean("value", false);
      else if (pv.type == "text") pv.value = t.string("value", "");
      else if (pv.type == "array") pv.value = NumberArray(t.number_array("value"));
      else t.fail("type", "'" + pv.type + "' is not one of number, integer, text, bool, enum, array");
      t.reject_unknown_keys();
      if (!out.state.emplace(name, std::move(pv)).second) t.fail("name", "'" + name + "' appears twice");
    }
    root.reject_unknown_keys();
  } catch (const std::exception& e) {
    out.state.clear();
    out.error = e.what();
  }
  return out;
}

}  // namespace weft::apps::ca_pv
