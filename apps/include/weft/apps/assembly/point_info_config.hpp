// The keys that describe a point for the services that present it (units,
// precision, description, display / control / alarm limits, state names,
// monitor deadbands), read the same way wherever a point is configured:
// gather's [[instrument.point]] and ca's [[soft_point]]. Every error names
// file:line:col and the key, and says what to write instead.
#pragma once

#include "weft/core/config.hpp"
#include "weft/core/point_info.hpp"

namespace weft::apps {

// Which state names the point's values can carry: none (numbers, text),
// exactly two (a bool: false, true), or 1..16 (an integer enumeration).
enum class StateNames { none, two, up_to_16 };

// Reads unit, precision (0..17), description (<= 39 characters),
// display_low / display_high, control_low / control_high (low below high),
// lolo <= low <= high <= hihi (any of them), states, mdel and adel.
PointInfo read_point_info(const ConfigSection& s, StateNames states);

}  // namespace weft::apps
