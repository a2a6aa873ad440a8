// The response verdict, decided as early as the bytes allow. A frame may
// start at any of the first max_leading_noise offsets (line-turnaround glitch
// bytes, an RS-485 adapter's echo of the request): each offset is judged
// like a frame start (unit, function or its exception, a read's byte count,
// then CRC once the frame's fixed length is in), and the earliest offset
// whose frame has a good CRC wins, but only once every earlier offset is
// ruled out. No frame is accepted without a good CRC. Every index is checked
// against what was received first.
#include "weft/drivers/modbus/response.hpp"

#include <algorithm>
#include <optional>
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

// One offset judged as a frame start.
struct Candidate {
  enum State { need_more, frame, rejected } state = need_more;
  std::size_t need = 0;    // need_more: bytes until this candidate's frame is complete
  std::size_t length = 0;  // frame: its length
  errc reason = errc::wrong_unit;  // rejected: why
  ParseResult result;      // frame: the decoded answer (or exception, or echo mismatch)
};

Candidate judge_at(const RequestInfo& info, std::span<const std::uint8_t> request, std::size_t success_length,
                   std::span<const std::uint8_t> rest) {
  Candidate c;
  if (rest.size() <= unit_at) {
    c.need = exception_response_length;
    return c;
  }
  if (rest[unit_at] != info.unit) return {Candidate::rejected, 0, 0, errc::wrong_unit, {}};
  if (rest.size() <= function_at) {
    c.need = exception_response_length - rest.size();
    return c;
  }
  const auto function = static_cast<std::uint8_t>(info.function);
  const bool exception = rest[function_at] == (function | exception_flag);
  if (!exception && rest[function_at] != function) return {Candidate::rejected, 0, 0, errc::wrong_function, {}};
  if (!exception && is_read(info.function) && rest.size() > byte_count_at &&
      rest[byte_count_at] != success_length - read_data_at - crc_length) {
    return {Candidate::rejected, 0, 0, errc::malformed, {}};
  }
  const std::size_t frame_length = exception ? exception_response_length : success_length;
  if (rest.size() < frame_length) {
    c.need = frame_length - rest.size();
    return c;
  }
  const auto frame = rest.first(frame_length);
  if (!check_crc(frame)) return {Candidate::rejected, 0, 0, errc::bad_crc, {}};
  c.state = Candidate::frame;
  c.length = frame_length;
  if (exception) c.result = Error{static_cast<ExceptionCode>(frame[exception_code_at])};
  else c.result = decode_success(info, request, frame);
  return c;
}

// The error once no frame can be found is decided by the first offset that
// looked like the unit's answer (truncated, bad CRC, wrong function or byte
// count), else it is a wrong unit; nothing at all is a timeout.
ResponseScan scan(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received, bool final) {
  const RequestInfo info = inspect_request(request);
  if (info.unit == broadcast_unit) {
    throw std::invalid_argument("modbus " + std::string(to_string(info.function)) +
                                ": a broadcast request gets no response to parse");
  }
  const std::size_t success_length = expected_response_length(request);
  std::optional<errc> first_reason;  // of the first offset that was not a wrong unit
  const std::size_t last = std::min(received.size(), max_leading_noise);
  for (std::size_t at = 0; at <= last; ++at) {
    Candidate c = judge_at(info, request, success_length, received.subspan(at));
    if (c.state == Candidate::frame) return {std::move(c.result), at, c.length, true};
    if (c.state == Candidate::need_more) {
      // An earlier offset still open decides first: later ones wait for it.
      if (!final) return {NeedMore{c.need}, at, 0, at < received.size()};
      if (at < received.size() && !first_reason) first_reason = errc::truncated;
      break;
    }
    if (!first_reason && c.reason != errc::wrong_unit) first_reason = c.reason;
  }
  if (received.empty()) return {Error{errc::timeout}, 0, 0, false};
  return {Error{first_reason.value_or(errc::wrong_unit)}, 0, 0, false};
}

}  // namespace

ResponseScan scan_response(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received) {
  return scan(request, received, false);
}

ResponseScan scan_final_response(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received) {
  return scan(request, received, true);
}

ParseResult parse_response(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received) {
  return scan(request, received, false).result;
}

ParseResult parse_final_response(std::span<const std::uint8_t> request,
                                 std::span<const std::uint8_t> received) {
  return scan(request, received, true).result;
}

}  // namespace weft::modbus
