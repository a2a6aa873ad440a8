// Tests of failure descriptions: unit, function, address range and message in
// one line, for explicit arguments and for an inspected request.
#include "weft/drivers/modbus/describe.hpp"

#include <catch2/catch.hpp>

using namespace weft::modbus;

TEST_CASE("modbus describe names unit, function and registers", "[modbus][describe]") {
  CHECK(describe(3, FunctionCode::read_holding_registers, 100, 2, Error{ExceptionCode::illegal_data_address}) ==
        "unit 3, read holding registers 100..101: exception 2 (illegal data address)");
  CHECK(describe(17, FunctionCode::read_coils, 19, 37, Error{errc::bad_crc}) ==
        "unit 17, read coils 19..55: CRC mismatch");
  CHECK(describe(1, FunctionCode::write_single_register, 7, 1, Error{errc::timeout}) ==
        "unit 1, write single register 7: no response (timeout)");
  CHECK(describe(1, FunctionCode::read_input_registers, 65535, 1, Error{errc::truncated}) ==
        "unit 1, read input registers 65535: truncated response");
}

TEST_CASE("modbus describe handles broadcasts, unknown functions and foreign errors", "[modbus][describe]") {
  CHECK(describe(0, FunctionCode::write_single_coil, 4, 1, Error{errc::echo_mismatch}) ==
        "broadcast, write single coil 4: write echo differs from the request");
  CHECK(describe(9, static_cast<FunctionCode>(0x2B), 0, 0, Error{errc::wrong_function}) ==
        "unit 9, function 43 0: response to another function");
  const Error io{std::make_error_code(std::errc::io_error)};
  CHECK(describe(2, FunctionCode::read_holding_registers, 0, 10, io) ==
        "unit 2, read holding registers 0..9: " + io.code.message());
}

TEST_CASE("modbus describe takes an inspected request", "[modbus][describe]") {
  const RequestInfo request = inspect_request(read_holding_registers(3, 100, 2));
  CHECK(describe(request, Error{ExceptionCode::server_device_busy}) ==
        "unit 3, read holding registers 100..101: exception 6 (server device busy)");
}
