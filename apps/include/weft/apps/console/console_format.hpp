// Text and JSON building blocks for console replies: an aligned text table,
// durations and ages for people, a minimal JSON object writer, and the
// "what is wrong + usage" line every bad argument gets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/reading.hpp"
#include "weft/core/service_stats.hpp"

namespace weft::apps::console_format {

// Columns separated by two spaces, each as wide as its widest cell.
class Table {
public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

private:
  std::vector<std::vector<std::string>> rows_;
};

std::string seconds(Duration d, int decimals = 1);  // "12.3 s"
std::string millis(std::int64_t ns);                // "0.456" (ms, 3 decimals)
std::string wall_iso(std::int64_t wall_ns);         // "2026-01-31T12:00:00.000Z"
std::string await_site(const AwaitSite& site, MonoTime now);  // "ticker apps/heartbeat/heartbeat.cpp:40 for 0.8 s", "-"
std::string value_json(const Value& v);

// A failed reply: "<command>: <what>\nusage: <usage>\n".
CommandReply usage_error(const Command& command, std::string_view what);
CommandReply failure(std::string text);

// {"a":1,"b":"x"} built key by key; values are raw JSON (use console::json_string for strings).
class JsonObject {
public:
  JsonObject& raw(std::string_view key, std::string_view json);
  JsonObject& str(std::string_view key, std::string_view text);
  JsonObject& num(std::string_view key, double v);
  JsonObject& integer(std::string_view key, std::int64_t v);
  JsonObject& boolean(std::string_view key, bool v);
  std::string done() const { return body_ + "}"; }

private:
  std::string body_ = "{";
};
std::string json_array(const std::vector<std::string>& values);  // values are raw JSON

}  // namespace weft::apps::console_format
