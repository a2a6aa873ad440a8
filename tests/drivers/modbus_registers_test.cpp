// Tests of register decoding: hand-written wire images of 123.456f and -2 in
// all four orders, 16- and 64-bit types, scale and offset, the encode round
// trip, short input, and parsing of type and order names from config text.
#include "weft/drivers/modbus/registers.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>

using namespace weft::modbus;
using Catch::Matchers::Contains;
using Registers = std::vector<std::uint16_t>;

TEST_CASE("modbus float32 123.456 decodes in all four orders", "[modbus][registers]") {
  // 123.456f is 0x42F6E979: bytes A=42 B=F6 C=E9 D=79.
  const float expected = 123.456f;
  CHECK(decode(Registers{0x42F6, 0xE979}, RegisterType::float32, WordOrder::abcd) == expected);
  CHECK(decode(Registers{0xE979, 0x42F6}, RegisterType::float32, WordOrder::cdab) == expected);
  CHECK(decode(Registers{0xF642, 0x79E9}, RegisterType::float32, WordOrder::badc) == expected);
  CHECK(decode(Registers{0x79E9, 0xF642}, RegisterType::float32, WordOrder::dcba) == expected);
}

TEST_CASE("modbus int32 -2 decodes in all four orders", "[modbus][registers]") {
  // -2 is 0xFFFFFFFE: only D differs, so each order puts 0xFE somewhere else.
  CHECK(decode(Registers{0xFFFF, 0xFFFE}, RegisterType::int32, WordOrder::abcd) == -2.0);
  CHECK(decode(Registers{0xFFFE, 0xFFFF}, RegisterType::int32, WordOrder::cdab) == -2.0);
  CHECK(decode(Registers{0xFFFF, 0xFEFF}, RegisterType::int32, WordOrder::badc) == -2.0);
  CHECK(decode(Registers{0xFEFF, 0xFFFF}, RegisterType::int32, WordOrder::dcba) == -2.0);
  CHECK(decode(Registers{0xFFFF, 0xFFFE}, RegisterType::uint32, WordOrder::abcd) == 4294967294.0);
}

TEST_CASE("modbus 16-bit values honour only the byte swap", "[modbus][registers]") {
  CHECK(decode(Registers{0xFF38}, RegisterType::int16) == -200.0);
  CHECK(decode(Registers{0xFF38}, RegisterType::uint16) == 65336.0);
  CHECK(decode(Registers{0xFF38}, RegisterType::int16, WordOrder::cdab) == -200.0);
  CHECK(decode(Registers{0x38FF}, RegisterType::int16, WordOrder::badc) == -200.0);
  CHECK(decode(Registers{0x38FF}, RegisterType::int16, WordOrder::dcba) == -200.0);
  CHECK(decode(Registers{0x8000}, RegisterType::int16) == -32768.0);
}

TEST_CASE("modbus 64-bit values extend the orders to four words", "[modbus][registers]") {
  CHECK(decode(Registers{0x0001, 0x0002, 0x0003, 0x0004}, RegisterType::uint64, WordOrder::abcd) ==
        static_cast<double>(0x0001'0002'0003'0004ull));
  CHECK(decode(Registers{0x0004, 0x0003, 0x0002, 0x0001}, RegisterType::uint64, WordOrder::cdab) ==
        static_cast<double>(0x0001'0002'0003'0004ull));
  CHECK(decode(Registers{0x0100, 0x0200, 0x0300, 0x0400}, RegisterType::uint64, WordOrder::badc) ==
        static_cast<double>(0x0001'0002'0003'0004ull));
  CHECK(decode(Registers{0x0400, 0x0300, 0x0200, 0x0100}, RegisterType::uint64, WordOrder::dcba) ==
        static_cast<double>(0x0001'0002'0003'0004ull));
  CHECK(decode(Registers{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFD}, RegisterType::int64) == -3.0);
  // 1.5 is 0x3FF8000000000000.
  CHECK(decode(Registers{0x3FF8, 0, 0, 0}, RegisterType::float64) == 1.5);
  CHECK(decode(Registers{0, 0, 0, 0xF83F}, RegisterType::float64, WordOrder::dcba) == 1.5);
}

TEST_CASE("modbus decode applies scale then offset", "[modbus][registers]") {
  CHECK(decode(Registers{0xFF38}, RegisterType::int16, WordOrder::abcd, 0.1, 0.0) == Approx(-20.0));
  CHECK(decode(Registers{2731}, RegisterType::uint16, WordOrder::abcd, 0.1, -273.1) == Approx(0.0).margin(1e-9));
  CHECK(decode(Registers{0x42F6, 0xE979}, RegisterType::float32, WordOrder::abcd, 2.0, 1.0) ==
        Approx(2.0 * 123.456f + 1.0));
}

TEST_CASE("modbus decode uses the leading registers and rejects too few", "[modbus][registers]") {
  CHECK(decode(Registers{0x0001, 0x0002, 0x9999}, RegisterType::uint32) == 65538.0);
  CHECK_THROWS_WITH(decode(Registers{0x0001}, RegisterType::float32),
                    Contains("float32") && Contains("needs 2 registers, got 1"));
  CHECK_THROWS_AS(decode(Registers{}, RegisterType::int16), std::invalid_argument);
}

TEST_CASE("modbus encode is the inverse of decode in every order", "[modbus][registers]") {
  const std::array<std::pair<RegisterType, double>, 12> samples{{
      {RegisterType::int16, -32768},     {RegisterType::uint16, 65535},
      {RegisterType::int32, -2},         {RegisterType::uint32, 4294967295.0},
      {RegisterType::float32, 123.456f}, {RegisterType::float32, -0.0},
      {RegisterType::int64, -1e15},      {RegisterType::uint64, 9007199254740992.0},
      {RegisterType::float64, 6.02214076e23}, {RegisterType::float64, -1.0 / 3.0},
      {RegisterType::int16, 1},          {RegisterType::int64, std::numeric_limits<std::int64_t>::min()},
  }};
  for (const WordOrder order : {WordOrder::abcd, WordOrder::cdab, WordOrder::badc, WordOrder::dcba}) {
    for (const auto& [type, value] : samples) {
      INFO(to_string(type) << " " << value << " " << to_string(order));
      const Registers registers = encode(value, type, order);
      CHECK(registers.size() == register_count(type));
      CHECK(decode(registers, type, order) == value);
    }
  }
  CHECK(encode(123.456f, RegisterType::float32, WordOrder::badc) == Registers{0xF642, 0x79E9});
  CHECK(encode(-2, RegisterType::int32, WordOrder::cdab) == Registers{0xFFFE, 0xFFFF});
}

TEST_CASE("modbus encode rejects integers out of range or fractional", "[modbus][registers]") {
  CHECK_THROWS_WITH(encode(32768, RegisterType::int16), Contains("int16"));
  CHECK_THROWS_AS(encode(-1, RegisterType::uint16), std::invalid_argument);
  CHECK_THROWS_AS(encode(1.5, RegisterType::int32), std::invalid_argument);
  CHECK_THROWS_AS(encode(18446744073709551616.0, RegisterType::uint64), std::invalid_argument);
  CHECK_THROWS_AS(encode(std::nan(""), RegisterType::int64), std::invalid_argument);
  CHECK(std::isnan(decode(encode(std::nan(""), RegisterType::float32), RegisterType::float32)));
}

TEST_CASE("modbus register counts", "[modbus][registers]") {
  CHECK(register_count(RegisterType::int16) == 1);
  CHECK(register_count(RegisterType::uint16) == 1);
  CHECK(register_count(RegisterType::int32) == 2);
  CHECK(register_count(RegisterType::uint32) == 2);
  CHECK(register_count(RegisterType::float32) == 2);
  CHECK(register_count(RegisterType::int64) == 4);
  CHECK(register_count(RegisterType::uint64) == 4);
  CHECK(register_count(RegisterType::float64) == 4);
}

TEST_CASE("modbus type and order names parse for config", "[modbus][registers]") {
  for (const RegisterType type : {RegisterType::int16, RegisterType::uint16, RegisterType::int32,
                                  RegisterType::uint32, RegisterType::float32, RegisterType::int64,
                                  RegisterType::uint64, RegisterType::float64}) {
    CHECK(parse_register_type(to_string(type)) == type);
  }
  CHECK(parse_register_type("float32") == RegisterType::float32);
  CHECK_FALSE(parse_register_type("float"));
  CHECK_FALSE(parse_register_type("Float32"));
  CHECK_FALSE(parse_register_type(""));

  CHECK(parse_word_order("abcd") == WordOrder::abcd);
  CHECK(parse_word_order("cdab") == WordOrder::cdab);
  CHECK(parse_word_order("BADC") == WordOrder::badc);
  CHECK(parse_word_order("DcBa") == WordOrder::dcba);
  CHECK_FALSE(parse_word_order("abdc"));
  CHECK_FALSE(parse_word_order("abcde"));
  CHECK(to_string(WordOrder::cdab) == "cdab");
}
