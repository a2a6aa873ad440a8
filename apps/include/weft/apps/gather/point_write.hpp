// A write to a writable Modbus point, planned: the engineering value a
// client asked for turned into the request that sets it (scaling and
// offset inverted, rounded to the register's type, encoded in its word
// order; FC 6 or 16 for registers, 5 or 15 for coils). A value the register
// cannot hold is refused with a message naming the point, the register and
// the range. Pure functions, no I/O: BusPoller uses them, tests call them.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "weft/apps/gather/gather_config.hpp"
#include "weft/core/reading.hpp"
#include "weft/drivers/modbus/pdu.hpp"

namespace weft::apps {

struct PlannedWrite {
  modbus::Adu request;
  modbus::FunctionCode function = modbus::FunctionCode::write_single_register;
  std::uint16_t start = 0;
  std::uint16_t count = 1;
  std::string raw;  // what goes on the wire, for the log: "register 10 = 235" / "coil 3 = on"
};

// "<instrument>.<point>" (holding register 10, uint16, scale 0.1, offset 0)
std::string describe_register(const InstrumentConfig& instrument, const PointConfig& point);

// The request, or why the value cannot be written (text for the client and the put log).
std::variant<PlannedWrite, std::string> plan_write(const InstrumentConfig& instrument, const PointConfig& point,
                                                   const Value& value);

}  // namespace weft::apps
