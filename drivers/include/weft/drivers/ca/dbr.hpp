// DBR payloads (channel-access.md §5): the type codes (plain, STS, TIME, GR,
// CTRL for the seven value types, and the special codes 35..38), their exact
// layouts, and the conversion between a PV's value and any requested type.
// encode_dbr builds the payload a READ_NOTIFY reply or monitor update
// carries; decode_dbr reads one (a write's data, or a reply seen by a client)
// and never reads past the payload it is given, trusts no count and no string
// terminator. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "weft/drivers/ca/epics_time.hpp"
#include "weft/drivers/ca/errors.hpp"
#include "weft/drivers/ca/framing.hpp"
#include "weft/drivers/ca/protocol.hpp"

namespace weft::ca {

// The seven value types, in code order (DBR_STRING = 0 ... DBR_DOUBLE = 6).
// int16 is DBR_SHORT (= DBR_INT), uint8 DBR_CHAR, int32 DBR_LONG.
enum class ValueType : std::uint16_t { string = 0, int16 = 1, float32 = 2, enumerated = 3, uint8 = 4, int32 = 5, float64 = 6 };
enum class Family : std::uint16_t { plain = 0, sts = 1, time = 2, gr = 3, ctrl = 4 };

inline constexpr std::uint16_t dbr_put_ackt = 35;
inline constexpr std::uint16_t dbr_put_acks = 36;
inline constexpr std::uint16_t dbr_stsack_string = 37;
inline constexpr std::uint16_t dbr_class_name = 38;
inline constexpr std::uint16_t dbr_last_type = 38;

inline constexpr std::size_t max_string_size = 40;  // char[40], NUL included
inline constexpr std::size_t max_units_size = 8;
inline constexpr std::size_t max_enum_string_size = 26;
inline constexpr std::size_t max_enum_states = 16;

std::string_view to_string(ValueType type) noexcept;  // "DOUBLE"
// "DBR_TIME_DOUBLE", "DBR_PUT_ACKT", or "DBR_?(77)" for a code above 38.
std::string dbr_name(std::uint16_t code);

constexpr std::uint16_t dbr_code(Family family, ValueType type) noexcept {
  return static_cast<std::uint16_t>(static_cast<std::uint16_t>(family) * 7 + static_cast<std::uint16_t>(type));
}

// Where the values sit in a payload of this code (§5.2). Every code 0..38 has one.
struct DbrLayout {
  ValueType value_type = ValueType::string;
  Family family = Family::plain;  // the special codes report plain (35, 36, 38) or sts (37)
  std::size_t value_offset = 0;   // metadata bytes before the first element
  std::size_t value_size = 0;     // bytes per element

  friend bool operator==(const DbrLayout&, const DbrLayout&) = default;
};

std::optional<DbrLayout> dbr_layout(std::uint16_t code) noexcept;  // nullopt above 38

// Unpadded payload bytes for `count` elements: value_offset + count * value_size.
std::optional<std::uint64_t> dbr_payload_size(std::uint16_t code, std::uint64_t count) noexcept;

struct Alarm {
  Status status = Status::no_alarm;
  Severity severity = Severity::no_alarm;

  friend bool operator==(const Alarm&, const Alarm&) = default;
};

// Display, alarm and control limits, units, precision and enum state names:
// what GR and CTRL payloads carry. On the wire limits are cast to the
// requested value type; units are cut to 7 characters, state names to 25.
struct Metadata {
  std::string units;
  std::optional<std::int16_t> precision;  // unset: 0 on the wire, shortest text in string conversions
  double upper_disp = 0, lower_disp = 0;
  double upper_alarm = 0, upper_warning = 0, lower_warning = 0, lower_alarm = 0;
  double upper_ctrl = 0, lower_ctrl = 0;
  std::vector<std::string> enum_strings;  // at most 16 are sent

  friend bool operator==(const Metadata&, const Metadata&) = default;
};

// Elements: numbers for every numeric type (an enum's state index, a char's
// byte), text for STRING. A double holds every int16/uint16/uint8/int32/f32
// value exactly.
using Elements = std::variant<std::vector<double>, std::vector<std::string>>;

// What a PV holds right now, independent of what a client asks for.
struct Value {
  ValueType type = ValueType::float64;  // the native type (CREATE_CHAN reply)
  Elements elements = std::vector<double>{};
  Alarm alarm;
  TimeStamp stamp;
  Metadata meta;

  std::size_t size() const noexcept;  // element count

  friend bool operator==(const Value&, const Value&) = default;
};

// The payload (unpadded; append_message pads it) for `code` with exactly
// `count` elements converted from `value`: elements past value.size() are
// zero (pre-4.13 semantics; the caller resolves count 0 first). For STRING
// the shown text of a number uses meta.precision, of an enum its state name.
// Errors: bad_type (code above 38, or PUT_ACKT / PUT_ACKS, which are
// write-only), too_large (count * element size above limits.max_array_bytes:
// the caller clamps a client's count to the channel's length first),
// no_convert (text that is not a decimal number requested as a number).
Result<std::vector<std::uint8_t>> encode_dbr(std::uint16_t code, std::uint32_t count, const Value& value,
                                             const Limits& limits);

// A payload read back: the code's value type, its elements, and whatever
// metadata the family carries (the rest stays default).
struct Decoded {
  std::uint16_t code = 0;
  DbrLayout layout;
  Value value;  // value.type = layout.value_type

  friend bool operator==(const Decoded&, const Decoded&) = default;
};

// Reads `count` elements of `code` from `payload` (padding may follow).
// Errors: bad_type (above 38), too_large (count * element size above
// limits.max_array_bytes), short_payload (the payload cannot hold the
// metadata and `count` elements), unterminated_string (a string, units or
// state name with no NUL in its field), bad_count (more than 16 enum states).
// A scalar plain DBR_STRING may be shorter than 40 bytes (libca writes
// strlen+1 bytes padded to 8, epics-base #943) but must hold its NUL.
Result<Decoded> decode_dbr(std::uint16_t code, std::uint32_t count, std::span<const std::uint8_t> payload,
                           const Limits& limits);

// Converts written elements (any value type) into `target`'s representation,
// as a put into a PV of that native type: text to numbers by decimal parsing
// (to an enum: a state name of `meta` first, then its index), numbers to text
// with meta.precision, numbers to numbers saturated to the target's range.
// Error: no_convert naming the element that does not convert.
Result<Elements> convert_elements(const Elements& from, ValueType from_type, ValueType target, const Metadata& meta);

}  // namespace weft::ca
