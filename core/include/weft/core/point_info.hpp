// What a point's owner knows about it besides its values, from the point's
// config (gather's [[instrument.point]], ca's [[soft_point]]), for the
// services that present points: ca serves it as EGU, PREC, DESC, the
// display, alarm and control limits and enum state names of DBR_GR/CTRL,
// raises MINOR/MAJOR alarms from the alarm limits, and filters monitor
// updates by the deadbands. Plain data; every field may be unset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft {

struct PointInfo {
  std::string unit;                          // engineering unit, e.g. "bar"; empty: none
  std::optional<int> precision;              // digits after the point to display; unset: none given
  std::string description;                   // a short text (CA's DESC, at most 39 characters); empty: none
  std::optional<double> display_low, display_high;  // the range a display shows (LOPR, HOPR)
  std::optional<double> control_low, control_high;  // the range a setpoint may take (DRVL, DRVH)
  // Alarm limits: a value at or beyond hihi / lolo is a MAJOR alarm, at or
  // beyond high / low a MINOR one (EPICS HIHI, HIGH, LOW, LOLO); unset: none.
  std::optional<double> lolo, low, high, hihi;
  std::vector<std::string> states;           // state names: a bool's (false, true), an enumeration's (0, 1, ...)
  // Monitor deadbands (EPICS MDEL, ADEL): an update is sent when the value
  // moved by more than this from the last one sent; 0: every change;
  // negative: every reading, changed or not.
  double monitor_deadband = 0;
  double archive_deadband = 0;
  // An array point's capacity (CA's native element count, EPICS NELM), when
  // its owner knows it (ca_gateway: the upstream channel's count); 0: the
  // length of its first reading.
  std::uint32_t max_length = 0;

  friend bool operator==(const PointInfo&, const PointInfo&) = default;
};

}  // namespace weft
