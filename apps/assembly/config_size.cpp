// Sizes in config files (config_size.hpp).
#include "weft/apps/assembly/config_size.hpp"

#include <cctype>
#include <cstdlib>

namespace weft::apps {

std::optional<std::uint64_t> parse_size(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  char* end = nullptr;
  const std::string number = text.substr(0, i);
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || value < 0) return std::nullopt;
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "KiB") scale = 1024.0;
  else if (unit == "MiB") scale = 1024.0 * 1024;
  else if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (unit == "kB" || unit == "KB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else return std::nullopt;
  return static_cast<std::uint64_t>(value * scale);
}

std::uint64_t read_size(const ConfigSection& s, std::string_view key, std::uint64_t fallback) {
  if (!s.has(key)) return fallback;
  // An integer is a byte count; a string carries a unit.
  std::string text;
  try {
    text = s.string(key, "");
  } catch (const ConfigError&) {
    return static_cast<std::uint64_t>(s.integer(key, 0, 0));
  }
  const auto size = parse_size(text);
  if (!size) s.fail(key, "'" + text + "' is not a size; write bytes (1048576) or a number with a unit: 64MiB, 500kB, 1GB");
  return *size;
}

}  // namespace weft::apps
