// A reading: one value of one point at one instant, as the bus carries it.
// Timestamps: monotonic ns (orders readings, immune to clock setting), the
// boot id (monotonic time restarts at each boot) and wall ns (a label that
// may be wrong on a box without RTC; corrected later from clock events).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace weft {

enum class Quality : std::uint8_t { good, stale, comm_error };
std::string_view to_string(Quality q) noexcept;

using Value = std::variant<double, std::int64_t, bool, std::string>;
std::string to_string(const Value& v);

// /proc/sys/kernel/random/boot_id, as 16 bytes.
struct BootId {
  std::array<std::uint8_t, 16> bytes{};
  static BootId current();  // read once per process, then cached
  static BootId parse(std::string_view uuid);  // all-zero if malformed
  std::string to_string() const;
  friend bool operator==(const BootId&, const BootId&) = default;
};

struct Reading {
  std::string point;
  Value value;
  Quality quality = Quality::good;
  std::int64_t mono_ns = 0;
  BootId boot;
  std::int64_t wall_ns = 0;
};

}  // namespace weft
