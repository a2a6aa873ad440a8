// Reading a point's description keys (point_info_config.hpp): each value is
// checked here, so the ca service never meets an inverted range, an
// overlong DESC or a state name libca would cut.
#include "weft/apps/assembly/point_info_config.hpp"

#include <fmt/format.h>

#include <utility>

namespace weft::apps {
namespace {

constexpr std::size_t kMaxDescription = 39;  // CA strings: 40 bytes with the NUL
constexpr std::size_t kMaxStateName = 25;     // DBR_GR_ENUM: 26 bytes with the NUL
constexpr std::size_t kMaxStates = 16;

std::optional<double> optional_number(const ConfigSection& s, const char* key) {
  if (!s.has(key)) return std::nullopt;
  return s.number(key, 0);
}

// Both ends of a range, when given, with low below high.
void read_range(const ConfigSection& s, const char* low_key, const char* high_key, std::optional<double>& low,
                std::optional<double>& high) {
  low = optional_number(s, low_key);
  high = optional_number(s, high_key);
  if (low && high && !(*low < *high)) {
    s.fail(high_key, fmt::format("{} must be above {} ({}); swap them", *high, low_key, *low));
  }
}

}  // namespace

PointInfo read_point_info(const ConfigSection& s, StateNames states) {
  PointInfo info;
  info.unit = s.string("unit", "");
  if (s.has("precision")) info.precision = static_cast<int>(s.integer("precision", 0, 0, 17));
  info.description = s.string("description", "");
  if (info.description.size() > kMaxDescription) {
    s.fail("description", fmt::format("is {} characters; CA's DESC holds at most {}: shorten it",
                                      info.description.size(), kMaxDescription));
  }
  read_range(s, "display_low", "display_high", info.display_low, info.display_high);
  read_range(s, "control_low", "control_high", info.control_low, info.control_high);
  // The alarm limits in order; each one given must not be below the one before it.
  const std::pair<const char*, std::optional<double>*> alarms[] = {
      {"lolo", &info.lolo}, {"low", &info.low}, {"high", &info.high}, {"hihi", &info.hihi}};
  const char* previous_key = nullptr;
  double previous = 0;
  for (const auto& [key, slot] : alarms) {
    *slot = optional_number(s, key);
    if (!*slot) continue;
    if (previous_key != nullptr && **slot < previous) {
      s.fail(key, fmt::format("{} is below {} ({}): the alarm limits go lolo <= low <= high <= hihi", **slot,
                              previous_key, previous));
    }
    previous_key = key;
    previous = **slot;
  }
  if (s.has("states")) {
    if (states == StateNames::none) {
      s.fail("states", "only bool and integer points have state names; this point's values are not");
    }
    info.states = s.string_array("states");
    if (states == StateNames::two && info.states.size() != 2) {
      s.fail("states", fmt::format("a bool point has two states (false, true), not {}: e.g. states = [\"off\", \"on\"]",
                                   info.states.size()));
    }
    if (info.states.empty() || info.states.size() > kMaxStates) {
      s.fail("states", fmt::format("{} state names; CA enums hold 1 to {}", info.states.size(), kMaxStates));
    }
    for (const auto& name : info.states) {
      if (name.size() > kMaxStateName) {
        s.fail("states", fmt::format("'{}' is longer than CA's {} characters per state", name, kMaxStateName));
      }
    }
  }
  info.monitor_deadband = s.number("mdel", 0);
  info.archive_deadband = s.number("adel", 0);
  return info;
}

}  // namespace weft::apps
