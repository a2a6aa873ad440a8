// Tests of the request builders against frames from the Modbus spec and known
// captures, of argument validation (messages name function and value), of
// inspect_request on built and damaged requests, and of response lengths.
#include "weft/drivers/modbus/pdu.hpp"

#include <catch2/catch.hpp>

#include <array>

using namespace weft::modbus;
using Catch::Matchers::Contains;
using Bytes = std::vector<std::uint8_t>;

TEST_CASE("modbus read requests match known frames", "[modbus][pdu]") {
  CHECK(read_holding_registers(0x01, 0x0000, 10) == Bytes{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD});
  CHECK(read_holding_registers(0x11, 0x006B, 3) == Bytes{0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x76, 0x87});
  CHECK(read_coils(0x11, 0x0013, 0x25)[1] == 0x01);
  CHECK(read_discrete_inputs(0x11, 0x00C4, 0x16)[1] == 0x02);
  CHECK(read_input_registers(0x11, 0x0008, 1)[1] == 0x04);
  CHECK(read_request(FunctionCode::read_holding_registers, 0x11, 0x006B, 3) ==
        read_holding_registers(0x11, 0x006B, 3));
}

TEST_CASE("modbus single write requests match known frames", "[modbus][pdu]") {
  CHECK(write_single_coil(0x01, 0x0000, true) == Bytes{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A});
  CHECK(write_single_coil(0x11, 0x00AC, true) == Bytes{0x11, 0x05, 0x00, 0xAC, 0xFF, 0x00, 0x4E, 0x8B});
  const Bytes off = write_single_coil(0x11, 0x00AC, false);
  CHECK(off[4] == 0x00);
  CHECK(off[5] == 0x00);
  CHECK(write_single_register(0x01, 0x0001, 0x0003) == Bytes{0x01, 0x06, 0x00, 0x01, 0x00, 0x03, 0x98, 0x0B});
}

TEST_CASE("modbus multiple write requests pack their values", "[modbus][pdu]") {
  // The spec's example: coils 20..29 = 1011 0011 10 (LSB of each byte first).
  const std::vector<bool> coils{true, false, true, true, false, false, true, true, true, false};
  CHECK(write_multiple_coils(0x01, 0x0013, coils) ==
        Bytes{0x01, 0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01, 0x72, 0xCB});

  const std::array<std::uint16_t, 2> registers{0x000A, 0x0102};
  CHECK(write_multiple_registers(0x01, 0x0001, registers) ==
        Bytes{0x01, 0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02, 0x92, 0x30});
}

TEST_CASE("modbus requests allow broadcast only for writes", "[modbus][pdu]") {
  CHECK_NOTHROW(write_single_register(broadcast_unit, 1, 2));
  CHECK_NOTHROW(write_single_coil(broadcast_unit, 1, true));
  CHECK_NOTHROW(write_multiple_coils(broadcast_unit, 1, {true}));
  const std::array<std::uint16_t, 1> one{7};
  CHECK_NOTHROW(write_multiple_registers(broadcast_unit, 1, one));
  CHECK_THROWS_WITH(read_holding_registers(0, 0, 1),
                    Contains("read holding registers") && Contains("unit 0 (broadcast)"));
  CHECK_THROWS_WITH(read_coils(0, 0, 1), Contains("read coils") && Contains("only allowed for writes"));
}

TEST_CASE("modbus requests reject units past 247", "[modbus][pdu]") {
  CHECK_NOTHROW(read_input_registers(247, 0, 1));
  CHECK_THROWS_WITH(read_input_registers(248, 0, 1),
                    Contains("read input registers") && Contains("unit 248 out of range 1..247"));
  CHECK_THROWS_WITH(write_single_register(255, 0, 1),
                    Contains("write single register") && Contains("unit 255 out of range 0..247"));
}

TEST_CASE("modbus requests enforce each function's count range", "[modbus][pdu]") {
  CHECK_NOTHROW(read_coils(1, 0, 2000));
  CHECK_NOTHROW(read_discrete_inputs(1, 0, 2000));
  CHECK_NOTHROW(read_holding_registers(1, 0, 125));
  CHECK_NOTHROW(read_input_registers(1, 0, 125));
  CHECK_THROWS_WITH(read_coils(1, 0, 0), Contains("read coils: count 0 out of range 1..2000"));
  CHECK_THROWS_WITH(read_discrete_inputs(1, 0, 2001),
                    Contains("read discrete inputs: count 2001 out of range 1..2000"));
  CHECK_THROWS_WITH(read_holding_registers(1, 0, 126),
                    Contains("read holding registers: count 126 out of range 1..125"));
  CHECK_THROWS_WITH(read_input_registers(1, 0, 0), Contains("read input registers: count 0"));

  CHECK_NOTHROW(write_multiple_coils(1, 0, std::vector<bool>(1968)));
  CHECK_THROWS_WITH(write_multiple_coils(1, 0, std::vector<bool>(1969)),
                    Contains("write multiple coils: count 1969 out of range 1..1968"));
  CHECK_THROWS_WITH(write_multiple_coils(1, 0, {}), Contains("write multiple coils: count 0"));

  CHECK_NOTHROW(write_multiple_registers(1, 0, std::vector<std::uint16_t>(123)));
  CHECK_THROWS_WITH(write_multiple_registers(1, 0, std::vector<std::uint16_t>(124)),
                    Contains("write multiple registers: count 124 out of range 1..123"));
  CHECK_THROWS_WITH(write_multiple_registers(1, 0, std::vector<std::uint16_t>(100000)),
                    Contains("write multiple registers: count 65536"));
}

TEST_CASE("modbus requests may not run past address 65535", "[modbus][pdu]") {
  CHECK_NOTHROW(read_holding_registers(1, 65535, 1));
  CHECK_NOTHROW(read_holding_registers(1, 65411, 125));
  CHECK_THROWS_WITH(read_holding_registers(1, 65535, 2),
                    Contains("start 65535 + count 2 runs past address 65535"));
  CHECK_NOTHROW(write_single_coil(1, 65535, true));
  CHECK_THROWS_WITH(write_multiple_coils(1, 65535, {true, true}), Contains("write multiple coils"));
}

TEST_CASE("modbus read_request only builds reads", "[modbus][pdu]") {
  CHECK_THROWS_WITH(read_request(FunctionCode::write_single_register, 1, 0, 1),
                    Contains("function code 6 is not a read"));
  CHECK(read_request(FunctionCode::read_coils, 1, 0, 9) == read_coils(1, 0, 9));
}

TEST_CASE("modbus function codes have names and kinds", "[modbus][pdu]") {
  CHECK(to_string(FunctionCode::read_discrete_inputs) == "read discrete inputs");
  CHECK(to_string(FunctionCode::write_multiple_registers) == "write multiple registers");
  CHECK(to_string(static_cast<FunctionCode>(0x2B)) == "unknown function");
  CHECK(is_read(FunctionCode::read_input_registers));
  CHECK_FALSE(is_read(FunctionCode::write_single_coil));
  CHECK(is_write(FunctionCode::write_multiple_coils));
  CHECK_FALSE(is_write(static_cast<FunctionCode>(0x07)));
}

TEST_CASE("modbus inspect_request recovers what each builder was asked", "[modbus][pdu]") {
  CHECK(inspect_request(read_coils(5, 19, 37)) == RequestInfo{5, FunctionCode::read_coils, 19, 37});
  CHECK(inspect_request(read_input_registers(247, 8, 125)) ==
        RequestInfo{247, FunctionCode::read_input_registers, 8, 125});
  CHECK(inspect_request(write_single_coil(2, 172, false)) == RequestInfo{2, FunctionCode::write_single_coil, 172, 1});
  CHECK(inspect_request(write_single_register(0, 1, 0xBEEF)) ==
        RequestInfo{0, FunctionCode::write_single_register, 1, 1});
  CHECK(inspect_request(write_multiple_coils(3, 20, std::vector<bool>(10, true))) ==
        RequestInfo{3, FunctionCode::write_multiple_coils, 20, 10});
  CHECK(inspect_request(write_multiple_registers(4, 1, std::vector<std::uint16_t>(123, 1))) ==
        RequestInfo{4, FunctionCode::write_multiple_registers, 1, 123});
}

TEST_CASE("modbus inspect_request rejects anything a builder would not produce", "[modbus][pdu]") {
  CHECK_THROWS_WITH(inspect_request(Bytes{0x01, 0x03, 0x00}), Contains("too short"));
  CHECK_THROWS_WITH(inspect_request(Bytes{0x01, 0x2B, 0, 0, 0, 1, 0, 0}), Contains("unsupported function code 43"));

  Bytes damaged = read_holding_registers(1, 0, 10);
  damaged[3] ^= 0x01;
  CHECK_THROWS_WITH(inspect_request(damaged), Contains("CRC"));

  Bytes longer = read_holding_registers(1, 0, 10);
  longer.push_back(0);
  CHECK_THROWS_WITH(inspect_request(longer), Contains("wrong length"));

  // Right length for one register, but the byte count field says 3.
  const Bytes bad_byte_count{0x01, 0x10, 0x00, 0x01, 0x00, 0x01, 0x03, 0x00, 0x0A, 0x00, 0x00};
  CHECK_THROWS_WITH(inspect_request(bad_byte_count), Contains("byte count 3 disagrees with count 1"));

  const Bytes coil_value_five{0x01, 0x05, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00};
  CHECK_THROWS_WITH(inspect_request(coil_value_five), Contains("neither 0xFF00 nor 0x0000"));

  CHECK_THROWS_WITH(inspect_request(Bytes{0x01, 0x03, 0x00, 0x00, 0x00, 0x7E, 0x00, 0x00}),
                    Contains("count 126"));
}

TEST_CASE("modbus expected response lengths", "[modbus][pdu]") {
  CHECK(expected_response_length(read_coils(1, 0, 1)) == 6);
  CHECK(expected_response_length(read_coils(1, 0, 8)) == 6);
  CHECK(expected_response_length(read_coils(1, 0, 9)) == 7);
  CHECK(expected_response_length(read_discrete_inputs(1, 0, 2000)) == 255);
  CHECK(expected_response_length(read_holding_registers(1, 0, 3)) == 11);
  CHECK(expected_response_length(read_input_registers(1, 0, 125)) == 255);
  CHECK(expected_response_length(write_single_coil(1, 0, true)) == 8);
  CHECK(expected_response_length(write_single_register(1, 0, 1)) == 8);
  CHECK(expected_response_length(write_multiple_coils(1, 0, std::vector<bool>(1968))) == 8);
  CHECK(expected_response_length(write_multiple_registers(1, 0, std::vector<std::uint16_t>(123))) == 8);
  CHECK(expected_response_length(write_single_register(broadcast_unit, 0, 1)) == 0);
  CHECK(expects_response(write_single_register(1, 0, 1)));
  CHECK_FALSE(expects_response(write_single_register(broadcast_unit, 0, 1)));
}
