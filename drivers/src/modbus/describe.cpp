// Failure descriptions: "unit U, FUNCTION START[..END]: MESSAGE", with
// "broadcast" for unit 0 and the raw number for a function outside the enum.
#include "weft/drivers/modbus/describe.hpp"

namespace weft::modbus {
namespace {

std::string function_name(FunctionCode function) {
  if (is_read(function) || is_write(function)) {
    return std::string(to_string(function));
  }
  return "function " + std::to_string(static_cast<unsigned>(function));
}

std::string address_range(std::uint16_t start, std::uint16_t count) {
  if (count <= 1) {
    return std::to_string(start);
  }
  return std::to_string(start) + ".." + std::to_string(static_cast<unsigned long>(start) + count - 1);
}

}  // namespace

std::string describe(std::uint8_t unit, FunctionCode function, std::uint16_t start,
                     std::uint16_t count, const Error& error) {
  const std::string target = unit == broadcast_unit ? "broadcast" : "unit " + std::to_string(unit);
  return target + ", " + function_name(function) + " " + address_range(start, count) + ": " +
         error.message();
}

std::string describe(const RequestInfo& request, const Error& error) {
  return describe(request.unit, request.function, request.start, request.count, error);
}

}  // namespace weft::modbus
