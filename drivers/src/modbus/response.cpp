// The response verdict, decided as early as the bytes allow: unit at byte 0,
// function (or its exception) at byte 1, a read's byte count at byte 2, then
// CRC, exception code, echo or data once the frame's fixed length is in.
// Every index is checked against the frame length first, which never exceeds
// what was received.
#include "weft/drivers/modbus/response.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "weft/drivers/modbus/crc.hpp"
#include "weft/drivers/modbus/pdu.hpp"

namespace weft::modbus {
namespace {

constexpr std::uint8_t exception_flag = 0x80;
constexpr std::size_t unit_at = 0;
constexpr std::size_t function_at = 1;
constexpr std::size_t byte_count_at = 2;
constexpr std::size_t exception_code_at = 2;
constexpr std::size_t read_data_at = 3;
constexpr std::size_t echo_length = 6;  // unit, fc, address, value or quantity
constexpr std::size_t crc_length = 2;

std::uint16_t get_u16(std::span<const std::uint8_t> bytes, std::size_t at) {
  return static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

// `frame` holds exactly the expected length and its CRC checks.
ParseResult decode_success(const RequestInfo& request, std::span<const std::uint8_t> original,
                           std::span<const std::uint8_t> frame) {
  switch (request.function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs: {
      BitsRead read;
      read.bits.reserve(request.count);
      for (std::size_t i = 0; i < request.count; ++i) {
        read.bits.push_back(((frame[read_data_at + i / 8] >> (i % 8)) & 1u) != 0);
      }
      return read;
    }
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers: {
      RegistersRead read;
      read.registers.reserve(request.count);
      for (std::size_t i = 0; i < request.count; ++i) {
        read.registers.push_back(get_u16(frame, read_data_at + 2 * i));
      }
      return read;
    }
    default: {
      if (!std::equal(frame.begin(), frame.begin() + echo_length, original.begin())) {
        return Error{errc::echo_mismatch};
      }
      return WriteEcho{get_u16(frame, 2), get_u16(frame, 4)};
    }
  }
}

}  // namespace

ParseResult parse_response(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received) {
  const RequestInfo info = inspect_request(request);
  if (info.unit == broadcast_unit) {
    throw std::invalid_argument("modbus " + std::string(to_string(info.function)) +
                                ": a broadcast request gets no response to parse");
  }
  const std::size_t success_length = expected_response_length(request);

  if (received.size() <= unit_at) {
    return NeedMore{exception_response_length};
  }
  if (received[unit_at] != info.unit) {
    return Error{errc::wrong_unit};
  }
  if (received.size() <= function_at) {
    return NeedMore{exception_response_length - received.size()};
  }
  const auto function = static_cast<std::uint8_t>(info.function);
  const bool exception = received[function_at] == (function | exception_flag);
  if (!exception && received[function_at] != function) {
    return Error{errc::wrong_function};
  }
  if (!exception && is_read(info.function) && received.size() > byte_count_at &&
      received[byte_count_at] != success_length - read_data_at - crc_length) {
    return Error{errc::malformed};
  }
  const std::size_t frame_length = exception ? exception_response_length : success_length;
  if (received.size() < frame_length) {
    return NeedMore{frame_length - received.size()};
  }
  const auto frame = received.first(frame_length);
  if (!check_crc(frame)) {
    return Error{errc::bad_crc};
  }
  if (exception) {
    return Error{static_cast<ExceptionCode>(frame[exception_code_at])};
  }
  return decode_success(info, request, frame);
}

ParseResult parse_final_response(std::span<const std::uint8_t> request,
                                 std::span<const std::uint8_t> received) {
  ParseResult result = parse_response(request, received);
  if (std::holds_alternative<NeedMore>(result)) {
    return Error{received.empty() ? errc::timeout : errc::truncated};
  }
  return result;
}

}  // namespace weft::modbus
