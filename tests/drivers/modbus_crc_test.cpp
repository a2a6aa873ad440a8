// Tests of the CRC-16/MODBUS helpers against the check value of the CRC
// catalogue ("123456789" -> 0x4B37) and frames from the Modbus spec and
// well-known captures; crc.hpp comes first to prove it is self-contained.
#include "weft/drivers/modbus/crc.hpp"

#include <catch2/catch.hpp>

#include <string_view>

using namespace weft::modbus;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

}  // namespace

TEST_CASE("modbus crc16 matches the catalogue check value", "[modbus][crc]") {
  CHECK(crc16(bytes_of("123456789")) == 0x4B37);
  CHECK(crc16(std::span<const std::uint8_t>{}) == crc_initial);
}

TEST_CASE("modbus append_crc puts the low byte first", "[modbus][crc]") {
  std::vector<std::uint8_t> read_ten{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A};
  append_crc(read_ten);
  CHECK(read_ten == std::vector<std::uint8_t>{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD});

  std::vector<std::uint8_t> spec_example{0x11, 0x03, 0x00, 0x6B, 0x00, 0x03};
  append_crc(spec_example);
  CHECK(spec_example == std::vector<std::uint8_t>{0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x76, 0x87});
}

TEST_CASE("modbus crc16 continues over split input", "[modbus][crc]") {
  const auto whole = bytes_of("123456789");
  const std::span<const std::uint8_t> all(whole);
  CHECK(crc16(all.subspan(4), crc16(all.first(4))) == 0x4B37);
}

TEST_CASE("modbus check_crc accepts good frames and rejects damaged ones", "[modbus][crc]") {
  const std::vector<std::uint8_t> response{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD};
  CHECK(check_crc(response));

  for (std::size_t bit = 0; bit < response.size() * 8; ++bit) {
    auto damaged = response;
    damaged[bit / 8] = static_cast<std::uint8_t>(damaged[bit / 8] ^ (1u << (bit % 8)));
    CHECK_FALSE(check_crc(damaged));
  }

  auto swapped = response;
  std::swap(swapped[9], swapped[10]);
  CHECK_FALSE(check_crc(swapped));
}

TEST_CASE("modbus check_crc rejects frames too short to carry a CRC", "[modbus][crc]") {
  CHECK_FALSE(check_crc(std::vector<std::uint8_t>{}));
  CHECK_FALSE(check_crc(std::vector<std::uint8_t>{0xFF}));
}
