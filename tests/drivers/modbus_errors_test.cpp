// Tests of the modbus error values: the "modbus" category, that errc converts
// to std::error_code, exception code names, and Error's one-line message.
#include "weft/drivers/modbus/errors.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace weft::modbus;

TEST_CASE("modbus errc converts to an error_code of the modbus category", "[modbus][errors]") {
  const std::error_code code = errc::bad_crc;
  CHECK(code.category().name() == std::string("modbus"));
  CHECK(&code.category() == &category());
  CHECK(code == errc::bad_crc);
  CHECK(code != errc::timeout);
  CHECK(code.message() == "CRC mismatch");
  CHECK(bool(code));
}

TEST_CASE("modbus errc values all have distinct messages", "[modbus][errors]") {
  const errc all[] = {errc::timeout,   errc::bad_crc,   errc::wrong_unit,         errc::wrong_function,
                      errc::truncated, errc::malformed, errc::exception_response, errc::echo_mismatch};
  std::set<std::string> messages;
  for (const errc e : all) {
    const std::string message = make_error_code(e).message();
    CHECK_FALSE(message.empty());
    CHECK(message.find("unknown") == std::string::npos);
    messages.insert(message);
  }
  CHECK(messages.size() == std::size(all));
  CHECK(category().message(999) == "unknown modbus error 999");
}

TEST_CASE("modbus exception codes have their spec names", "[modbus][errors]") {
  CHECK(to_string(ExceptionCode::illegal_function) == "illegal function");
  CHECK(to_string(ExceptionCode::illegal_data_address) == "illegal data address");
  CHECK(to_string(ExceptionCode::illegal_data_value) == "illegal data value");
  CHECK(to_string(ExceptionCode::server_device_failure) == "server device failure");
  CHECK(to_string(ExceptionCode::acknowledge) == "acknowledge");
  CHECK(to_string(ExceptionCode::server_device_busy) == "server device busy");
  CHECK(to_string(ExceptionCode::memory_parity_error) == "memory parity error");
  CHECK(to_string(ExceptionCode::gateway_path_unavailable) == "gateway path unavailable");
  CHECK(to_string(ExceptionCode::gateway_target_failed) == "gateway target device failed to respond");
  CHECK(static_cast<int>(ExceptionCode::memory_parity_error) == 8);
  CHECK(static_cast<int>(ExceptionCode::gateway_target_failed) == 0x0B);
  CHECK(to_string(static_cast<ExceptionCode>(0x07)) == "unknown exception");
}

TEST_CASE("modbus Error messages name the code or the server's exception", "[modbus][errors]") {
  CHECK(Error{errc::timeout}.message() == "no response (timeout)");
  const Error exception{ExceptionCode::illegal_data_address};
  CHECK(exception.code == errc::exception_response);
  CHECK(exception.message() == "exception 2 (illegal data address)");
  CHECK(Error{static_cast<ExceptionCode>(0x42)}.message() == "exception 66 (unknown exception)");

  const Error foreign{std::make_error_code(std::errc::io_error)};
  CHECK(foreign.message() == std::make_error_code(std::errc::io_error).message());
  CHECK_FALSE(foreign.exception);
}

TEST_CASE("modbus Errors compare by code and exception", "[modbus][errors]") {
  CHECK(Error{errc::bad_crc} == Error{errc::bad_crc});
  CHECK(Error{errc::bad_crc} != Error{errc::truncated});
  CHECK(Error{ExceptionCode::server_device_busy} == Error{ExceptionCode::server_device_busy});
  CHECK(Error{ExceptionCode::server_device_busy} != Error{ExceptionCode::acknowledge});
  CHECK(Error{ExceptionCode::acknowledge} != Error{errc::exception_response});
}
