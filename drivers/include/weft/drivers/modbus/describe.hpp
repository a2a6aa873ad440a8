// One-line descriptions of a failed transaction for logs and the console,
// naming unit, function and address range, e.g.
// "unit 3, read holding registers 100..101: exception 2 (illegal data address)".
#pragma once

#include <cstdint>
#include <string>

#include "weft/drivers/modbus/errors.hpp"
#include "weft/drivers/modbus/pdu.hpp"

namespace weft::modbus {

std::string describe(std::uint8_t unit, FunctionCode function, std::uint16_t start,
                     std::uint16_t count, const Error& error);
std::string describe(const RequestInfo& request, const Error& error);

}  // namespace weft::modbus
