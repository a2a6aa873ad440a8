// A small JSON reader for weftctl: the console's --json replies parsed into
// a tree, so `weftctl update` reads fields by name instead of scraping
// text. Standard library only. Numbers are doubles (the console's integers
// fit: pids, counts, milliseconds); \uXXXX escapes become UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weftctl {

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> items;                          // array
  std::vector<std::pair<std::string, JsonValue>> members;  // object, in order

  // Member `key` of an object; null if absent or not an object.
  const JsonValue* get(std::string_view key) const;
  // Convenience: member `key` as a string / number / bool, `fallback` if absent or another kind.
  std::string str(std::string_view key, std::string fallback = {}) const;
  double num(std::string_view key, double fallback = 0) const;
  bool flag(std::string_view key, bool fallback = false) const;
};

// The whole of `text` as one JSON value (whitespace around it allowed);
// nullopt and `error` ("at byte 17: ...") if it is not.
std::optional<JsonValue> parse_json(std::string_view text, std::string& error);

}  // namespace weftctl
