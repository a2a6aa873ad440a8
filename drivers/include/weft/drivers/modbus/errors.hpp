// Modbus failures as values: `errc` (the ways a transaction can fail, in the
// std::error_code category "modbus"), the server's ExceptionCode, and Error,
// which carries one of them. Nothing here throws; every code has a message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace weft::modbus {

enum class errc {
  timeout = 1,         // no byte arrived before the response timeout
  bad_crc,             // a whole frame arrived but its CRC does not check
  wrong_unit,          // the response names another unit than the request
  wrong_function,      // neither the request's function nor its exception (|0x80)
  truncated,           // the line went quiet in the middle of a frame
  malformed,           // the byte count disagrees with the request
  exception_response,  // the server answered with an exception code
  echo_mismatch,       // a write's echo names another address, value or quantity
  line_busy,           // bytes kept arriving: the line never went quiet, so no request was sent
};

const std::error_category& category() noexcept;  // name() is "modbus"
std::error_code make_error_code(errc e) noexcept;

// The server's reason in an exception response. Servers may send codes outside
// this list; the enum holds them unchanged and to_string names them "unknown".
enum class ExceptionCode : std::uint8_t {
  illegal_function = 0x01,
  illegal_data_address = 0x02,
  illegal_data_value = 0x03,
  server_device_failure = 0x04,
  acknowledge = 0x05,
  server_device_busy = 0x06,
  memory_parity_error = 0x08,
  gateway_path_unavailable = 0x0A,
  gateway_target_failed = 0x0B,
};

std::string_view to_string(ExceptionCode code) noexcept;  // e.g. "illegal data address"

// One failure: an error code (modbus or any other category, e.g. from the
// serial port) plus, for errc::exception_response, the server's reason.
struct Error {
  Error(errc e) : code(make_error_code(e)) {}
  Error(std::error_code c) : code(c) {}
  explicit Error(ExceptionCode reason)
      : code(make_error_code(errc::exception_response)), exception(reason) {}

  // "CRC mismatch", or "exception 2 (illegal data address)".
  std::string message() const;

  std::error_code code;
  std::optional<ExceptionCode> exception;

  friend bool operator==(const Error&, const Error&) = default;
};

}  // namespace weft::modbus

template <>
struct std::is_error_code_enum<weft::modbus::errc> : std::true_type {};
