// CRC-16/MODBUS, one table lookup per byte; the 256-entry table is computed at
// compile time from the reflected polynomial 0xA001.
#include "weft/drivers/modbus/crc.hpp"

#include <array>

namespace weft::modbus {
namespace {

constexpr std::uint16_t reflected_polynomial = 0xA001;

constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < table.size(); ++byte) {
    auto crc = static_cast<std::uint16_t>(byte);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1u) ? static_cast<std::uint16_t>((crc >> 1) ^ reflected_polynomial)
                       : static_cast<std::uint16_t>(crc >> 1);
    }
    table[byte] = crc;
  }
  return table;
}

constexpr auto crc_table = make_table();

}  // namespace

std::uint16_t crc16(std::span<const std::uint8_t> bytes, std::uint16_t crc) noexcept {
  for (const std::uint8_t byte : bytes) {
    crc = static_cast<std::uint16_t>((crc >> 8) ^ crc_table[(crc ^ byte) & 0xFFu]);
  }
  return crc;
}

void append_crc(std::vector<std::uint8_t>& frame) {
  const std::uint16_t crc = crc16(frame);
  frame.push_back(static_cast<std::uint8_t>(crc & 0xFFu));
  frame.push_back(static_cast<std::uint8_t>(crc >> 8));
}

bool check_crc(std::span<const std::uint8_t> frame) noexcept {
  if (frame.size() < 2) {
    return false;
  }
  const std::size_t body = frame.size() - 2;
  const auto carried = static_cast<std::uint16_t>(frame[body] | (frame[body + 1] << 8));
  return crc16(frame.first(body)) == carried;
}

}  // namespace weft::modbus
