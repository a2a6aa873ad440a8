// Field values: the strict reading of one field's text as a weft::Value of a declared
// type. Numbers follow a fixed grammar ([+-] digits [. digits] [e [+-] digits]; no
// "inf", "nan" or hex) and must be finite; text must be printable UTF-8. Pure
// functions that never throw on any input.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "weft/core/reading.hpp"

namespace weft::ascii {

// How a field's text becomes a weft::Value.
enum class FieldType : std::uint8_t {
  number,     // double
  integer,    // std::int64_t
  text,       // std::string, printable UTF-8
  automatic,  // double when it reads as a number, else text
};
std::optional<FieldType> field_type_from_string(std::string_view name) noexcept;  // "number" "integer" "text" "auto"
std::string_view to_string(FieldType type) noexcept;

std::optional<double> read_number(std::string_view text) noexcept;
std::optional<std::int64_t> read_integer(std::string_view text) noexcept;  // [+-] digits, in range
// `text` (taken as is: trim it first) read as `type`; nullopt when it does not read
// as one. An empty text reads as nothing of any type.
std::optional<weft::Value> read_field(std::string_view text, FieldType type);

}  // namespace weft::ascii
