// The value conversions libca users rely on (channel-access.md §5.5):
// text -> number by *decimal* parsing only (never hex or octal: ca-gateway #37
// turned "100w" into 256), number -> text with the PV's precision, and
// number -> number by a cast that saturates instead of being undefined.
// Pure functions, no locale: "1,5" is not a number anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::ca {

// A decimal floating-point number: optional surrounding blanks, optional sign,
// digits with an optional fraction and exponent, or inf / infinity / nan
// (any case). Anything else, including "0x10", "100w", "" and "1 2", is nullopt.
std::optional<double> parse_double(std::string_view text) noexcept;

// A decimal integer in [min, max]: what parse_double accepts, truncated
// toward zero when it has a fraction or an exponent ("12.7" is 12, "1e3"
// is 1000), as EPICS' string-to-integer conversion does. Out of range, NaN or
// infinite is nullopt.
std::optional<std::int64_t> parse_integer(std::string_view text, std::int64_t min, std::int64_t max) noexcept;

// A number as text for DBR_STRING (at most 39 characters). `integral` values
// are printed without a fraction; others with `precision` digits after the
// point when given (0..17), else the shortest text that reads back exactly.
// Magnitudes that do not fit 39 characters in fixed notation use an exponent.
std::string format_number(double value, bool integral, std::optional<int> precision);

// A cast that saturates at the target's range; NaN becomes 0.
template <class T>
T saturate(double value) noexcept;

extern template std::int16_t saturate<std::int16_t>(double) noexcept;
extern template std::uint16_t saturate<std::uint16_t>(double) noexcept;
extern template std::uint8_t saturate<std::uint8_t>(double) noexcept;
extern template std::int32_t saturate<std::int32_t>(double) noexcept;

}  // namespace weft::ca
