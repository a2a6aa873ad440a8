// Streaming verdict on a response: given the request and the bytes received so
// far, either more bytes are needed (and how many at least), or the response is
// complete and decoded, or it is an Error. Reads only within `received`, never
// throws on any received bytes, and ignores bytes past the frame's end.
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

// `request` must be an ADU from pdu.hpp that expects a response; otherwise
// std::invalid_argument (a programming error, not a line error).
ParseResult parse_response(std::span<const std::uint8_t> request,
                           std::span<const std::uint8_t> received);

// The verdict once the line has gone quiet and no more bytes will come: as
// parse_response, except that NeedMore becomes errc::timeout when nothing was
// received and errc::truncated otherwise.
ParseResult parse_final_response(std::span<const std::uint8_t> request,
                                 std::span<const std::uint8_t> received);

}  // namespace weft::modbus
