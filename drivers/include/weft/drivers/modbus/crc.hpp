// CRC-16/MODBUS (reflected polynomial 0xA001, initial value 0xFFFF), the
// checksum that closes every RTU frame. On the wire the CRC travels low byte
// first. Pure functions on byte spans: no allocation except append_crc.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace weft::modbus {

inline constexpr std::uint16_t crc_initial = 0xFFFF;

// The CRC of `bytes`; pass a previous result as `crc` to continue over more bytes.
std::uint16_t crc16(std::span<const std::uint8_t> bytes, std::uint16_t crc = crc_initial) noexcept;

// Appends the CRC of `frame` to it, low byte first.
void append_crc(std::vector<std::uint8_t>& frame);

// True when `frame` ends with the (low-byte-first) CRC of the bytes before it.
// A frame shorter than the two CRC bytes never checks.
bool check_crc(std::span<const std::uint8_t> frame) noexcept;

}  // namespace weft::modbus
