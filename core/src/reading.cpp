// Reading helpers: quality names, value formatting, the boot id.
#include "weft/core/reading.hpp"

#include <cstdio>
#include <fstream>

namespace weft {

std::string_view to_string(Quality q) noexcept {
  switch (q) {
    case Quality::good: return "good";
    case Quality::stale: return "stale";
    case Quality::comm_error: return "comm-error";
  }
  return "unknown";
}

std::string to_string(const Value& v) {
  struct Format {
    std::string operator()(double d) const {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", d);
      return buf;
    }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Format{}, v);
}

BootId BootId::parse(std::string_view uuid) {
  BootId id;
  std::size_t n = 0;
  int high = -1;
  for (char c : uuid) {
    if (c == '-' || c == '\n') continue;
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return BootId{};
    if (high < 0) {
      high = v;
    } else {
      if (n == id.bytes.size()) return BootId{};
      id.bytes[n++] = static_cast<std::uint8_t>(high << 4 | v);
      high = -1;
    }
  }
  return n == id.bytes.size() ? id : BootId{};
}

BootId BootId::current() {
  static const BootId id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string line;
    std::getline(in, line);
    return parse(line);
  }();
  return id;
}

std::string BootId::to_string() const {
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[bytes[i] >> 4]);
    out.push_back(hex[bytes[i] & 0xf]);
  }
  return out;
}

}  // namespace weft
