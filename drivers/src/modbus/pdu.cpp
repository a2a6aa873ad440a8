// Request ADUs: each builder validates its arguments against the spec's ranges,
// then lays out unit, function code, big-endian fields and the CRC.
// inspect_request runs the same checks backwards over received bytes.
#include "weft/drivers/modbus/pdu.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "weft/drivers/modbus/crc.hpp"

namespace weft::modbus {
namespace {

constexpr std::uint32_t address_space = 0x10000;
constexpr std::uint16_t coil_on = 0xFF00;
constexpr std::uint16_t coil_off = 0x0000;
constexpr std::size_t crc_length = 2;
constexpr std::size_t fixed_request_length = 8;       // unit, fc, two 16-bit fields, CRC
constexpr std::size_t multiple_write_header = 7;      // unit, fc, start, quantity, byte count

[[noreturn]] void reject(FunctionCode function, const std::string& what) {
  throw std::invalid_argument("modbus " + std::string(to_string(function)) + ": " + what);
}

std::uint16_t max_count(FunctionCode function) {
  switch (function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs: return max_read_bits;
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers: return max_read_registers;
    case FunctionCode::write_multiple_coils: return max_write_coils;
    case FunctionCode::write_multiple_registers: return max_write_registers;
    case FunctionCode::write_single_coil:
    case FunctionCode::write_single_register: return 1;
  }
  return 0;
}

std::size_t packed_bit_bytes(std::uint16_t bits) { return (bits + 7u) / 8u; }

void check_function(std::uint8_t code) {
  const auto function = static_cast<FunctionCode>(code);
  if (!is_read(function) && !is_write(function)) {
    throw std::invalid_argument("modbus request: unsupported function code " + std::to_string(code));
  }
}

void check_target(std::uint8_t unit, FunctionCode function, std::uint16_t start, std::uint32_t count) {
  if (unit == broadcast_unit && !is_write(function)) {
    reject(function, "unit 0 (broadcast) is only allowed for writes");
  }
  if (unit > max_unit) {
    reject(function, "unit " + std::to_string(unit) + " out of range " +
                         (is_write(function) ? "0" : "1") + ".." + std::to_string(max_unit));
  }
  if (count < 1 || count > max_count(function)) {
    reject(function, "count " + std::to_string(count) + " out of range 1.." +
                         std::to_string(max_count(function)));
  }
  if (start + count > address_space) {
    reject(function, "start " + std::to_string(start) + " + count " + std::to_string(count) +
                         " runs past address 65535");
  }
}

void put_u16(Adu& adu, std::uint16_t value) {
  adu.push_back(static_cast<std::uint8_t>(value >> 8));
  adu.push_back(static_cast<std::uint8_t>(value & 0xFFu));
}

std::uint16_t get_u16(std::span<const std::uint8_t> bytes, std::size_t at) {
  return static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

Adu header(std::uint8_t unit, FunctionCode function, std::uint16_t first, std::uint16_t second) {
  Adu adu{unit, static_cast<std::uint8_t>(function)};
  put_u16(adu, first);
  put_u16(adu, second);
  return adu;
}

Adu fixed_request(std::uint8_t unit, FunctionCode function, std::uint16_t first, std::uint16_t second) {
  Adu adu = header(unit, function, first, second);
  append_crc(adu);
  return adu;
}

Adu read(FunctionCode function, std::uint8_t unit, std::uint16_t start, std::uint16_t count) {
  check_target(unit, function, start, count);
  return fixed_request(unit, function, start, count);
}

std::size_t request_length(FunctionCode function, std::uint16_t count) {
  switch (function) {
    case FunctionCode::write_multiple_coils:
      return multiple_write_header + packed_bit_bytes(count) + crc_length;
    case FunctionCode::write_multiple_registers:
      return multiple_write_header + 2u * count + crc_length;
    default: return fixed_request_length;
  }
}

}  // namespace

std::string_view to_string(FunctionCode function) noexcept {
  switch (function) {
    case FunctionCode::read_coils: return "read coils";
    case FunctionCode::read_discrete_inputs: return "read discrete inputs";
    case FunctionCode::read_holding_registers: return "read holding registers";
    case FunctionCode::read_input_registers: return "read input registers";
    case FunctionCode::write_single_coil: return "write single coil";
    case FunctionCode::write_single_register: return "write single register";
    case FunctionCode::write_multiple_coils: return "write multiple coils";
    case FunctionCode::write_multiple_registers: return "write multiple registers";
  }
  return "unknown function";
}

bool is_read(FunctionCode function) noexcept {
  const auto code = static_cast<std::uint8_t>(function);
  return code >= 0x01 && code <= 0x04;
}

bool is_write(FunctionCode function) noexcept {
  return function == FunctionCode::write_single_coil || function == FunctionCode::write_single_register ||
         function == FunctionCode::write_multiple_coils || function == FunctionCode::write_multiple_registers;
}

Adu read_coils(std::uint8_t unit, std::uint16_t start, std::uint16_t count) {
  return read(FunctionCode::read_coils, unit, start, count);
}

Adu read_discrete_inputs(std::uint8_t unit, std::uint16_t start, std::uint16_t count) {
  return read(FunctionCode::read_discrete_inputs, unit, start, count);
}

Adu read_holding_registers(std::uint8_t unit, std::uint16_t start, std::uint16_t count) {
  return read(FunctionCode::read_holding_registers, unit, start, count);
}

Adu read_input_registers(std::uint8_t unit, std::uint16_t start, std::uint16_t count) {
  return read(FunctionCode::read_input_registers, unit, start, count);
}

Adu read_request(FunctionCode function, std::uint8_t unit, std::uint16_t start, std::uint16_t count) {
  if (!is_read(function)) {
    throw std::invalid_argument("modbus read request: function code " +
                                std::to_string(static_cast<unsigned>(function)) + " is not a read");
  }
  return read(function, unit, start, count);
}

Adu write_single_coil(std::uint8_t unit, std::uint16_t address, bool on) {
  check_target(unit, FunctionCode::write_single_coil, address, 1);
  return fixed_request(unit, FunctionCode::write_single_coil, address, on ? coil_on : coil_off);
}

Adu write_single_register(std::uint8_t unit, std::uint16_t address, std::uint16_t value) {
  check_target(unit, FunctionCode::write_single_register, address, 1);
  return fixed_request(unit, FunctionCode::write_single_register, address, value);
}

Adu write_multiple_coils(std::uint8_t unit, std::uint16_t start, const std::vector<bool>& values) {
  const auto function = FunctionCode::write_multiple_coils;
  check_target(unit, function, start, static_cast<std::uint32_t>(std::min<std::size_t>(values.size(), address_space)));
  const auto count = static_cast<std::uint16_t>(values.size());
  Adu adu = header(unit, function, start, count);
  const std::size_t data_bytes = packed_bit_bytes(count);
  adu.push_back(static_cast<std::uint8_t>(data_bytes));
  adu.resize(adu.size() + data_bytes, 0);
  std::uint8_t* data = adu.data() + multiple_write_header;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i]) {
      data[i / 8] = static_cast<std::uint8_t>(data[i / 8] | (1u << (i % 8)));
    }
  }
  append_crc(adu);
  return adu;
}

Adu write_multiple_registers(std::uint8_t unit, std::uint16_t start,
                             std::span<const std::uint16_t> values) {
  const auto function = FunctionCode::write_multiple_registers;
  check_target(unit, function, start, static_cast<std::uint32_t>(std::min<std::size_t>(values.size(), address_space)));
  const auto count = static_cast<std::uint16_t>(values.size());
  Adu adu = header(unit, function, start, count);
  adu.push_back(static_cast<std::uint8_t>(2u * count));
  for (const std::uint16_t value : values) {
    put_u16(adu, value);
  }
  append_crc(adu);
  return adu;
}

RequestInfo inspect_request(std::span<const std::uint8_t> request) {
  if (request.size() < fixed_request_length) {
    throw std::invalid_argument("modbus request: " + std::to_string(request.size()) +
                                " bytes is too short for a request");
  }
  check_function(request[1]);
  const auto function = static_cast<FunctionCode>(request[1]);
  const std::uint8_t unit = request[0];
  const std::uint16_t start = get_u16(request, 2);
  const std::uint16_t field = get_u16(request, 4);
  const bool multiple = function == FunctionCode::write_multiple_coils ||
                        function == FunctionCode::write_multiple_registers;
  const std::uint16_t count = (is_read(function) || multiple) ? field : 1;
  check_target(unit, function, start, count);
  if (request.size() != request_length(function, count)) {
    reject(function, std::to_string(request.size()) + " bytes is the wrong length for count " +
                         std::to_string(count));
  }
  if (multiple && request[6] != request.size() - multiple_write_header - crc_length) {
    reject(function, "byte count " + std::to_string(request[6]) + " disagrees with count " +
                         std::to_string(count));
  }
  if (function == FunctionCode::write_single_coil && field != coil_on && field != coil_off) {
    reject(function, "coil value " + std::to_string(field) + " is neither 0xFF00 nor 0x0000");
  }
  if (!check_crc(request)) {
    reject(function, "request CRC does not check");
  }
  return {unit, function, start, count};
}

bool expects_response(std::span<const std::uint8_t> request) {
  return inspect_request(request).unit != broadcast_unit;
}

std::size_t expected_response_length(std::span<const std::uint8_t> request) {
  const RequestInfo info = inspect_request(request);
  if (info.unit == broadcast_unit) {
    return 0;
  }
  constexpr std::size_t read_header = 3;  // unit, fc, byte count
  switch (info.function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs:
      return read_header + packed_bit_bytes(info.count) + crc_length;
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers: return read_header + 2u * info.count + crc_length;
    default: return fixed_request_length;  // writes echo address and value or quantity
  }
}

}  // namespace weft::modbus
