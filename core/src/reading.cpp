// Reading helpers: quality names, value formatting, number arrays and
// their JSON text, the boot id.
#include "weft/core/reading.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <system_error>
#include <vector>

namespace weft {

std::string_view to_string(Quality q) noexcept {
  switch (q) {
    case Quality::good: return "good";
    case Quality::stale: return "stale";
    case Quality::comm_error: return "comm-error";
  }
  return "unknown";
}

NumberArray::NumberArray(std::span<const double> values) : size_(values.size()) {
  if (values.empty()) return;
  std::shared_ptr<double[]> data = std::make_shared<double[]>(values.size());  // one allocation
  std::copy(values.begin(), values.end(), data.get());
  data_ = std::move(data);
}

bool operator==(const NumberArray& a, const NumberArray& b) noexcept {
  const auto x = a.values(), y = b.values();
  return std::equal(x.begin(), x.end(), y.begin(), y.end());
}

namespace {

std::string short_double(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", d);
  return buf;
}

constexpr std::size_t kShownElements = 8;

}  // namespace

std::string to_string(const Value& v) {
  struct Format {
    std::string operator()(double d) const { return short_double(d); }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const NumberArray& a) const {
      std::string out = "[";
      const auto values = a.values();
      for (std::size_t i = 0; i < values.size() && i < kShownElements; ++i) {
        if (i > 0) out += ", ";
        out += short_double(values[i]);
      }
      if (values.size() > kShownElements) out += ", ... (" + std::to_string(values.size()) + " elements)";
      return out + "]";
    }
  };
  return std::visit(Format{}, v);
}

std::string number_array_json(std::span<const double> values, bool keep_infinities) {
  std::string out = "[";
  out.reserve(2 + values.size() * 8);
  char buf[32];
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    const double d = values[i];
    if (std::isnan(d) || (std::isinf(d) && !keep_infinities)) {
      out += "null";
    } else if (std::isinf(d)) {
      out += d > 0 ? "9e999" : "-9e999";
    } else {
      const auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest text that reads back exactly
      out.append(buf, r.ptr);
    }
  }
  return out + "]";
}

std::optional<NumberArray> parse_number_array_json(std::string_view text) {
  auto skip_blanks = [&] {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t' ||
                             text.front() == '\r')) {
      text.remove_prefix(1);
    }
  };
  skip_blanks();
  if (text.empty() || text.front() != '[') return std::nullopt;
  text.remove_prefix(1);
  std::vector<double> values;
  skip_blanks();
  if (!text.empty() && text.front() == ']') {
    text.remove_prefix(1);
  } else {
    for (;;) {
      skip_blanks();
      if (text.starts_with("null")) {
        values.push_back(std::numeric_limits<double>::quiet_NaN());
        text.remove_prefix(4);
      } else {
        // JSON's grammar: no '+', no leading '.', no hex, no inf/nan words.
        if (text.empty() || !(text.front() == '-' || (text.front() >= '0' && text.front() <= '9'))) return std::nullopt;
        if (text.front() == '-' && (text.size() < 2 || text[1] < '0' || text[1] > '9')) return std::nullopt;
        double d = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d, std::chars_format::general);
        if (ec == std::errc::result_out_of_range) {
          // 9e999: an infinity; 1e-999: zero (from_chars leaves d as it was)
          const std::string_view token(text.data(), static_cast<std::size_t>(end - text.data()));
          const auto e = token.find_first_of("eE");
          const bool tiny = e != std::string_view::npos && e + 1 < token.size() && token[e + 1] == '-';
          d = tiny ? 0.0 : (token.front() == '-' ? -HUGE_VAL : HUGE_VAL);
        } else if (ec != std::errc{}) {
          return std::nullopt;
        }
        text.remove_prefix(static_cast<std::size_t>(end - text.data()));
        values.push_back(d);
      }
      skip_blanks();
      if (text.empty()) return std::nullopt;
      if (text.front() == ']') {
        text.remove_prefix(1);
        break;
      }
      if (text.front() != ',') return std::nullopt;
      text.remove_prefix(1);
    }
  }
  skip_blanks();
  if (!text.empty()) return std::nullopt;
  return NumberArray(values);
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
