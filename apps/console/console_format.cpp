// Console reply formatting (console_format.hpp).
#include "weft/apps/console/console_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "weft/apps/console/console_protocol.hpp"

namespace weft::apps::console_format {

std::string Table::render() const {
  std::vector<std::size_t> width;
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string seconds(Duration d, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f s", decimals, std::chrono::duration<double>(d).count());
  return buf;
}

std::string millis(std::int64_t ns) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e6);
  return buf;
}

std::string wall_iso(std::int64_t wall_ns) {
  const auto secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03dZ", stamp, static_cast<int>((wall_ns / 1'000'000) % 1000));
  return out;
}

std::string await_site(const AwaitSite& site, MonoTime now) {
  if (site.empty()) return "-";
  std::string file = site.file != nullptr ? site.file : "?";
  // Keep the path from the source tree's top directory on: "apps/heartbeat/heartbeat.cpp".
  for (const char* top : {"/apps/", "/core/", "/drivers/", "/tools/", "/tests/"})
    if (auto at = file.rfind(top); at != std::string::npos) {
      file = file.substr(at + 1);
      break;
    }
  return std::string(site.what) + " " + file + ":" + std::to_string(site.line) + " for " +
         seconds(now - site.since);
}

std::string value_json(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>) return console::json_string(x);
        else if constexpr (std::is_same_v<T, NumberArray>) return number_array_json(x.values(), false);
        else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(x)) return "null";
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.17g", x);
          return buf;
        } else return std::to_string(x);
      },
      v);
}

CommandReply usage_error(const Command& command, std::string_view what) {
  return CommandReply{false, command.name + ": " + std::string(what) + "\nusage: " + command.usage + "\n", {}};
}

CommandReply failure(std::string text) {
  if (text.empty() || text.back() != '\n') text += '\n';
  return CommandReply{false, std::move(text), {}};
}

JsonObject& JsonObject::raw(std::string_view key, std::string_view json) {
  if (body_.size() > 1) body_ += ',';
  body_ += console::json_string(key);
  body_ += ':';
  body_.append(json);
  return *this;
}
JsonObject& JsonObject::str(std::string_view key, std::string_view text) { return raw(key, console::json_string(text)); }
JsonObject& JsonObject::num(std::string_view key, double v) { return raw(key, value_json(Value{v})); }
JsonObject& JsonObject::integer(std::string_view key, std::int64_t v) { return raw(key, std::to_string(v)); }
JsonObject& JsonObject::boolean(std::string_view key, bool v) { return raw(key, v ? "true" : "false"); }

std::string json_array(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  return out + "]";
}

}  // namespace weft::apps::console_format
