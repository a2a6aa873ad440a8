// Modbus RTU requests: builders for function codes 1-6, 15 and 16 that return
// the whole ADU (unit id, PDU, CRC low byte first), and inspection of such an
// ADU. Arguments outside the spec's ranges throw std::invalid_argument with a
// message naming the function and the offending value; nothing else throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace weft::modbus {

enum class FunctionCode : std::uint8_t {
  read_coils = 0x01,
  read_discrete_inputs = 0x02,
  read_holding_registers = 0x03,
  read_input_registers = 0x04,
  write_single_coil = 0x05,
  write_single_register = 0x06,
  write_multiple_coils = 0x0F,
  write_multiple_registers = 0x10,
};

std::string_view to_string(FunctionCode function) noexcept;  // e.g. "read holding registers"
bool is_read(FunctionCode function) noexcept;                // 1 to 4
bool is_write(FunctionCode function) noexcept;               // 5, 6, 15, 16

inline constexpr std::uint8_t broadcast_unit = 0;  // writes only; never answered
inline constexpr std::uint8_t max_unit = 247;
inline constexpr std::uint16_t max_read_bits = 2000;        // functions 1, 2
inline constexpr std::uint16_t max_read_registers = 125;    // functions 3, 4
inline constexpr std::uint16_t max_write_coils = 1968;      // function 15
inline constexpr std::uint16_t max_write_registers = 123;   // function 16
inline constexpr std::size_t exception_response_length = 5;  // unit, fc|0x80, code, CRC

using Adu = std::vector<std::uint8_t>;

Adu read_coils(std::uint8_t unit, std::uint16_t start, std::uint16_t count);
Adu read_discrete_inputs(std::uint8_t unit, std::uint16_t start, std::uint16_t count);
Adu read_holding_registers(std::uint8_t unit, std::uint16_t start, std::uint16_t count);
Adu read_input_registers(std::uint8_t unit, std::uint16_t start, std::uint16_t count);
// One of the four above, chosen by `function` (which must be a read).
Adu read_request(FunctionCode function, std::uint8_t unit, std::uint16_t start, std::uint16_t count);

Adu write_single_coil(std::uint8_t unit, std::uint16_t address, bool on);
Adu write_single_register(std::uint8_t unit, std::uint16_t address, std::uint16_t value);
Adu write_multiple_coils(std::uint8_t unit, std::uint16_t start, const std::vector<bool>& values);
Adu write_multiple_registers(std::uint8_t unit, std::uint16_t start,
                             std::span<const std::uint16_t> values);

// What a request ADU asks for; `count` is 1 for the single writes.
struct RequestInfo {
  std::uint8_t unit = 0;
  FunctionCode function = FunctionCode::read_holding_registers;
  std::uint16_t start = 0;
  std::uint16_t count = 0;

  friend bool operator==(const RequestInfo&, const RequestInfo&) = default;
};

// Decodes a request built by the functions above; throws std::invalid_argument
// for anything else (bad CRC, unknown function, inconsistent lengths, ranges).
RequestInfo inspect_request(std::span<const std::uint8_t> request);

bool expects_response(std::span<const std::uint8_t> request);  // false for broadcasts
// Length of the normal response to `request` (every supported function has a
// fixed one); 0 for a broadcast. An exception response is always 5 bytes.
std::size_t expected_response_length(std::span<const std::uint8_t> request);

}  // namespace weft::modbus
