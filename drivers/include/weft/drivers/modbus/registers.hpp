// Point values from holding/input registers: 16-, 32- and 64-bit integers and
// IEEE floats in the four orders devices use (named by the bytes of a 32-bit
// value ABCD as they arrive), then value * scale + offset. encode is the exact
// inverse of decode without scaling. 64-bit integers beyond 2^53 lose precision.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace weft::modbus {

enum class RegisterType : std::uint8_t { int16, uint16, int32, uint32, float32, int64, uint64, float64 };

// abcd: big-endian, high word first; cdab: low word first; badc: high word first,
// bytes swapped in each word; dcba: little-endian. For 64-bit values the same
// rules extend to four words; for 16-bit values only the byte swap applies.
enum class WordOrder : std::uint8_t { abcd, cdab, badc, dcba };

std::size_t register_count(RegisterType type) noexcept;  // 1, 2 or 4

// Decodes the first register_count(type) registers (throws std::invalid_argument
// if there are fewer).
double decode(std::span<const std::uint16_t> registers, RegisterType type,
              WordOrder order = WordOrder::abcd, double scale = 1.0, double offset = 0.0);

// The registers that decode back to `value`; integer types need an integral
// value in range, or std::invalid_argument.
std::vector<std::uint16_t> encode(double value, RegisterType type, WordOrder order = WordOrder::abcd);

std::string_view to_string(RegisterType type) noexcept;  // "float32"
std::string_view to_string(WordOrder order) noexcept;    // "cdab"
std::optional<RegisterType> parse_register_type(std::string_view text);  // exact lower-case names
std::optional<WordOrder> parse_word_order(std::string_view text);        // "cdab" or "CDAB"

}  // namespace weft::modbus
