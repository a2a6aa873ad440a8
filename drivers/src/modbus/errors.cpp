// The "modbus" error category, exception code names and Error's message.
// Messages are short lower-case phrases that read well after "unit 3, ...: ".
#include "weft/drivers/modbus/errors.hpp"

namespace weft::modbus {
namespace {

class Category final : public std::error_category {
public:
  const char* name() const noexcept override { return "modbus"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::timeout: return "no response (timeout)";
      case errc::bad_crc: return "CRC mismatch";
      case errc::wrong_unit: return "response from another unit";
      case errc::wrong_function: return "response to another function";
      case errc::truncated: return "truncated response";
      case errc::malformed: return "malformed response (byte count disagrees with the request)";
      case errc::exception_response: return "exception response";
      case errc::echo_mismatch: return "write echo differs from the request";
      case errc::line_busy:
        return "line busy: bytes kept arriving and the line never went quiet, so no request was sent (another "
               "master or a babbling device on the bus?)";
    }
    return "unknown modbus error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

std::string_view to_string(ExceptionCode code) noexcept {
  switch (code) {
    case ExceptionCode::illegal_function: return "illegal function";
    case ExceptionCode::illegal_data_address: return "illegal data address";
    case ExceptionCode::illegal_data_value: return "illegal data value";
    case ExceptionCode::server_device_failure: return "server device failure";
    case ExceptionCode::acknowledge: return "acknowledge";
    case ExceptionCode::server_device_busy: return "server device busy";
    case ExceptionCode::memory_parity_error: return "memory parity error";
    case ExceptionCode::gateway_path_unavailable: return "gateway path unavailable";
    case ExceptionCode::gateway_target_failed: return "gateway target device failed to respond";
  }
  return "unknown exception";
}

std::string Error::message() const {
  if (exception) {
    return "exception " + std::to_string(static_cast<unsigned>(*exception)) + " (" +
           std::string(to_string(*exception)) + ")";
  }
  return code.message();
}

}  // namespace weft::modbus
