// Streaming verdict on a response: given the request and the bytes received so
// far, either more bytes are needed (and how many at least), or the response is
// complete and decoded, or it is an Error. Noise before the frame (up to
// max_leading_noise bytes) is skipped; a frame is accepted only with a good
// CRC. Reads only within `received`, never throws on any received bytes, and
// ignores bytes past the frame's end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "weft/drivers/modbus/errors.hpp"

namespace weft::modbus {

struct NeedMore {
  std::size_t bytes = 0;  // at least this many more before the next verdict
};
struct BitsRead {  // functions 1, 2: exactly the requested count
  std::vector<bool> bits;
};
struct RegistersRead {  // functions 3, 4: exactly the requested count
  std::vector<std::uint16_t> registers;
};
struct WriteEcho {  // functions 5, 6, 15, 16, once the echo matches the request
  std::uint16_t address = 0;
  std::uint16_t value = 0;  // coil (0xFF00/0x0000) or register value; quantity for 15, 16
};

using ParseResult = std::variant<NeedMore, BitsRead, RegistersRead, WriteEcho, Error>;

// Offsets 0..max_leading_noise of what was received may start the frame, so
// a verdict never needs more than max_leading_noise + 256 bytes.
inline constexpr std::size_t max_leading_noise = 256;

// A verdict and where in `received` it was found.
struct ResponseScan {
  ParseResult result;
  std::size_t frame_at = 0;      // a frame (or NeedMore's candidate) starts here; bytes before it are noise
  std::size_t frame_length = 0;  // the accepted frame's length; 0 without one
  bool frame_started = false;    // NeedMore: a plausible frame start is among the bytes received
};

// `request` must be an ADU from pdu.hpp that expects a response; otherwise
// std::invalid_argument (a programming error, not a line error). While an
// earlier offset can still be a frame start, the verdict is NeedMore: an
// error comes early only once all max_leading_noise + 1 offsets are ruled out.
ResponseScan scan_response(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received);
ParseResult parse_response(std::span<const std::uint8_t> request,
                           std::span<const std::uint8_t> received);

// The verdict once the line has gone quiet and no more bytes will come:
// errc::timeout when nothing was received; otherwise judged by the first
// offset that looked like the unit's answer (truncated, bad CRC, wrong
// function, malformed), else errc::wrong_unit.
ResponseScan scan_final_response(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received);
ParseResult parse_final_response(std::span<const std::uint8_t> request,
                                 std::span<const std::uint8_t> received);

}  // namespace weft::modbus
