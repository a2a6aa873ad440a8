// The state file of persisted soft points (`persist = true`): the last
// durable value of each, by point name, with the type it was written as.
// Pure text codec (no I/O; the ca service reads and replaces the file off
// the loop, core/atomic_file.hpp). The text is TOML:
//
//   # weft ca: last written values of persist = true soft points (...)
//   version = 1
//   [[point]]
//   name = "sp.target"
//   type = "number"        # number, integer, text, bool, enum, array (as [[soft_point]] type)
//   value = 72.5           # enum: the state's index; array: [1.5, 2.0, nan]
//
// Guarantees: format then parse gives the same state back, exactly (doubles
// round-trip, NaN and infinities included; any text a CA string can hold).
// Parse never throws: a damaged, truncated or foreign file gives an error
// naming the file, line:col where known, and what was wrong.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "weft/core/reading.hpp"

namespace weft::apps::ca_pv {

struct PersistedValue {
  std::string type;  // the [[soft_point]] type it was written as
  weft::Value value; // number: double; integer, enum: int64; bool: bool; text: string; array: NumberArray
  bool operator==(const PersistedValue&) const = default;
};
using SoftState = std::map<std::string, PersistedValue>;  // by point name

inline constexpr int kSoftStateVersion = 1;
inline constexpr std::string_view kSoftStateFile = "ca-soft-points.toml";  // in [weftd] data_dir

std::string format_soft_state(const SoftState& state);

struct SoftStateParse {
  SoftState state;
  std::string error;  // non-empty: the file is not a state file this weftd can read (state is then empty)
};
// `source`: the file's path, for the error.
SoftStateParse parse_soft_state(std::string_view text, const std::string& source);

// Whether `v` is a value of soft-point type `type` (the value's kind only).
bool fits_type(const std::string& type, const weft::Value& v) noexcept;

}  // namespace weft::apps::ca_pv
