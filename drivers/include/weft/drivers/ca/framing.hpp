// CA message framing (channel-access.md §2): the 16-byte header, the 24-byte
// extended header (size field 0xFFFF, real size and count in two more u32s),
// payloads zero-padded to a multiple of 8. scan_frame finds one message at the
// front of a byte span (a TCP stream buffer or a UDP datagram) and checks the
// sizes *before* asking for more bytes, so a header claiming 4 GiB is refused
// at once instead of being buffered. Pure functions: no I/O, no Asio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "weft/drivers/ca/errors.hpp"

namespace weft::ca {

inline constexpr std::size_t header_size = 16;
inline constexpr std::size_t extended_header_size = 24;
inline constexpr std::uint16_t extended_marker = 0xFFFF;  // in the 16-bit size field
inline constexpr std::size_t payload_alignment = 8;

// Bounds on what is accepted from the wire. One value of these is shared by
// every decoder, so a circuit is configured in one place.
struct Limits {
  // The largest array payload accepted, like EPICS_CA_MAX_ARRAY_BYTES
  // (libca's default 16384). A message may carry this much data plus the
  // largest DBR metadata block (and the ERROR header copy), no more.
  std::uint32_t max_array_bytes = 16384;
  // Longest PV, user or host name, without its NUL (RSRV refuses names over 512).
  std::uint32_t max_name_length = 512;

  // max_array_bytes + room for the largest metadata prefix, rounded up to 8.
  std::uint64_t max_payload_bytes() const noexcept;
};

struct Header {
  std::uint16_t command = 0;
  std::uint32_t payload_size = 0;  // bytes after the header, padding included
  std::uint16_t data_type = 0;
  std::uint32_t data_count = 0;
  std::uint32_t p1 = 0;
  std::uint32_t p2 = 0;

  friend bool operator==(const Header&, const Header&) = default;
};

// Round up to the next multiple of 8.
constexpr std::uint64_t padded_size(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }

// True when a message with this padded payload size or this count must use
// the extended header (RSRV and libca switch at 0xFFFF for either).
constexpr bool needs_extended(std::uint64_t padded_payload, std::uint64_t count) noexcept {
  return padded_payload >= 0xFFFF || count >= 0xFFFF;
}

// Appends one message to `out`: the header (extended when needed), the
// payload and zero padding up to a multiple of 8. header.payload_size is
// ignored and set from payload.size(). Returns false and appends nothing
// when the extended header is needed but `allow_extended` is false (a client
// below minor 9: the server must answer ECA_16KARRAYCLIENT instead).
bool append_message(std::vector<std::uint8_t>& out, Header header, std::span<const std::uint8_t> payload,
                    bool allow_extended = true);

struct NeedMore {
  std::size_t bytes = 0;  // at least this many more bytes before the next verdict
};

// One whole message found at the front of the scanned span. The spans point
// into that span: copy what must outlive it.
struct Frame {
  Header header;
  bool extended = false;
  std::span<const std::uint8_t> header_bytes;  // 16 or 24 bytes, as received (ERROR copies them)
  std::span<const std::uint8_t> payload;       // header.payload_size bytes, padding included
  std::size_t length = 0;                      // header_bytes.size() + payload.size()
};

using ScanResult = std::variant<NeedMore, Frame, Error>;

// The header at the front of `bytes` (the extended form when the size field
// is 0xFFFF), checked against nothing: NeedMore until all of it is there.
struct HeaderAt {
  Header header;
  bool extended = false;
  std::size_t head = 0;  // its size on the wire: 16 or 24
};
std::variant<NeedMore, HeaderAt> read_header(std::span<const std::uint8_t> bytes);

// Errors: too_large (payload above limits.max_payload_bytes(), checked as soon
// as the header is complete), misaligned (payload size not a multiple of 8).
// Command numbers are not judged here: that is the decoders' job.
ScanResult scan_frame(std::span<const std::uint8_t> bytes, const Limits& limits);

}  // namespace weft::ca
