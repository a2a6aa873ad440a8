// Header layout and the frame scanner. The scanner's order of checks is the
// guarantee: a complete header is judged (extended marker, size limit,
// alignment) before a single payload byte is waited for.
#include "weft/drivers/ca/framing.hpp"

#include <algorithm>
#include <string>

#include "wire.hpp"

namespace weft::ca {
namespace {

// The largest metadata block before the values (GR/CTRL_ENUM: 422 bytes) plus
// an ERROR's copied extended header (24): 512 is comfortably above both.
constexpr std::uint64_t metadata_room = 512;

}  // namespace

std::uint64_t Limits::max_payload_bytes() const noexcept {
  return padded_size(std::uint64_t{max_array_bytes} + metadata_room);
}

bool append_message(std::vector<std::uint8_t>& out, Header header, std::span<const std::uint8_t> payload,
                    bool allow_extended) {
  const std::uint64_t size = padded_size(payload.size());
  const bool extended = needs_extended(size, header.data_count);
  if (extended && (!allow_extended || size > 0xFFFFFFFFu)) return false;
  const std::size_t at = out.size();
  const std::size_t head = extended ? extended_header_size : header_size;
  out.resize(at + head + size, 0);
  const std::span<std::uint8_t> b(out.data() + at, head);
  wire::store16(b, 0, header.command);
  wire::store16(b, 2, extended ? extended_marker : static_cast<std::uint16_t>(size));
  wire::store16(b, 4, header.data_type);
  wire::store16(b, 6, extended ? 0 : static_cast<std::uint16_t>(header.data_count));
  wire::store32(b, 8, header.p1);
  wire::store32(b, 12, header.p2);
  if (extended) {
    wire::store32(b, 16, static_cast<std::uint32_t>(size));
    wire::store32(b, 20, header.data_count);
  }
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(at + head));
  return true;
}

std::variant<NeedMore, HeaderAt> read_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < header_size) return NeedMore{header_size - bytes.size()};
  HeaderAt at;
  Header& h = at.header;
  h.command = wire::load16(bytes, 0);
  const std::uint16_t size16 = wire::load16(bytes, 2);
  h.data_type = wire::load16(bytes, 4);
  h.data_count = wire::load16(bytes, 6);
  h.p1 = wire::load32(bytes, 8);
  h.p2 = wire::load32(bytes, 12);
  at.extended = size16 == extended_marker;
  at.head = header_size;
  if (at.extended) {
    if (bytes.size() < extended_header_size) return NeedMore{extended_header_size - bytes.size()};
    h.payload_size = wire::load32(bytes, 16);
    h.data_count = wire::load32(bytes, 20);
    at.head = extended_header_size;
  } else {
    h.payload_size = size16;
  }
  return at;
}

ScanResult scan_frame(std::span<const std::uint8_t> bytes, const Limits& limits) {
  auto read = read_header(bytes);
  if (const auto* more = std::get_if<NeedMore>(&read)) return *more;
  const auto& [h, extended, head] = std::get<HeaderAt>(read);
  if (h.payload_size > limits.max_payload_bytes()) {
    return Error{errc::too_large, "command " + std::to_string(h.command) + ": payload size " +
                                      std::to_string(h.payload_size) + " above the limit of " +
                                      std::to_string(limits.max_payload_bytes()) + " bytes (max_array_bytes " +
                                      std::to_string(limits.max_array_bytes) + ")"};
  }
  if (h.payload_size % payload_alignment != 0) {
    return Error{errc::misaligned, "command " + std::to_string(h.command) + ": payload size " +
                                       std::to_string(h.payload_size) + " is not a multiple of 8"};
  }
  const std::size_t length = head + h.payload_size;
  if (bytes.size() < length) return NeedMore{length - bytes.size()};
  return Frame{h, extended, bytes.subspan(0, head), bytes.subspan(head, h.payload_size), length};
}

}  // namespace weft::ca
