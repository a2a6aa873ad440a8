// Planning a write to a Modbus point (point_write.hpp).
#include "weft/apps/gather/point_write.hpp"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>
#include <utility>

#include "weft/drivers/modbus/registers.hpp"

namespace weft::apps {
namespace {

// The raw values a register type holds, as doubles (64-bit bounds rounded
// inwards so that every value inside converts exactly).
std::pair<double, double> raw_range(modbus::RegisterType t) {
  switch (t) {
    case modbus::RegisterType::int16: return {-32768.0, 32767.0};
    case modbus::RegisterType::uint16: return {0.0, 65535.0};
    case modbus::RegisterType::int32: return {-2147483648.0, 2147483647.0};
    case modbus::RegisterType::uint32: return {0.0, 4294967295.0};
    case modbus::RegisterType::int64: return {-9223372036854774784.0, 9223372036854774784.0};
    case modbus::RegisterType::uint64: return {0.0, 18446744073709549568.0};
    case modbus::RegisterType::float32:
      return {-static_cast<double>(std::numeric_limits<float>::max()),
              static_cast<double>(std::numeric_limits<float>::max())};
    case modbus::RegisterType::float64: break;
  }
  return {-std::numeric_limits<double>::max(), std::numeric_limits<double>::max()};
}

bool is_integer_type(modbus::RegisterType t) {
  return t != modbus::RegisterType::float32 && t != modbus::RegisterType::float64;
}

std::string number(double v) { return fmt::format("{:.10g}", v); }

}  // namespace

std::string describe_register(const InstrumentConfig& instrument, const PointConfig& p) {
  if (p.table == sim::Table::coil) return fmt::format("{}.{} (unit {}, coil {})", instrument.name, p.name, instrument.unit, p.address);
  std::string out = fmt::format("{}.{} (unit {}, holding register {}, {}", instrument.name, p.name, instrument.unit,
                                p.address, modbus::to_string(p.type));
  if (p.scale != 1 || p.offset != 0) out += fmt::format(", scale {}, offset {}", number(p.scale), number(p.offset));
  return out + ")";
}

std::variant<PlannedWrite, std::string> plan_write(const InstrumentConfig& instrument, const PointConfig& p,
                                                   const Value& value) {
  const std::string where = describe_register(instrument, p);
  if (!p.writable) return where + " is not writable (set writable = true on its [[instrument.point]])";
  PlannedWrite out;
  out.start = p.address;
  if (p.table == sim::Table::coil) {
    bool on = false;
    if (const auto* b = std::get_if<bool>(&value)) on = *b;
    else if (const auto* d = std::get_if<double>(&value); d && (*d == 0 || *d == 1)) on = *d == 1;
    else if (const auto* i = std::get_if<std::int64_t>(&value); i && (*i == 0 || *i == 1)) on = *i == 1;
    else return where + ": " + to_string(value) + " is not a coil state (0/1, false/true)";
    out.count = 1;
    if (p.write_multiple) {
      out.function = modbus::FunctionCode::write_multiple_coils;
      out.request = modbus::write_multiple_coils(instrument.unit, p.address, {on});
    } else {
      out.function = modbus::FunctionCode::write_single_coil;
      out.request = modbus::write_single_coil(instrument.unit, p.address, on);
    }
    out.raw = fmt::format("coil {} = {}", p.address, on ? "on" : "off");
    return out;
  }
  if (p.table != sim::Table::holding) return where + " is not a holding register or coil: Modbus cannot write it";
  double v = 0;
  if (const auto* d = std::get_if<double>(&value)) v = *d;
  else if (const auto* i = std::get_if<std::int64_t>(&value)) v = static_cast<double>(*i);
  else if (const auto* b = std::get_if<bool>(&value)) v = *b ? 1 : 0;
  else if (const auto* text = std::get_if<std::string>(&value)) return where + ": '" + *text + "' is not a number";
  else return where + ": the array " + to_string(value) + " cannot be written to one register";
  if (!std::isfinite(v)) return where + ": " + number(v) + " cannot be written to a register";
  double raw = (v - p.offset) / p.scale;
  if (is_integer_type(p.type)) raw = std::nearbyint(raw);
  const auto [lo, hi] = raw_range(p.type);
  if (!(raw >= lo && raw <= hi)) {
    double elo = lo * p.scale + p.offset, ehi = hi * p.scale + p.offset;
    if (elo > ehi) std::swap(elo, ehi);
    return fmt::format("{}: {} is outside the register's range {}..{}", where, number(v), number(elo), number(ehi));
  }
  std::vector<std::uint16_t> registers;
  try {
    registers = modbus::encode(raw, p.type, p.order);
  } catch (const std::invalid_argument& e) {
    return where + ": " + number(v) + " cannot be encoded: " + e.what();
  }
  out.count = static_cast<std::uint16_t>(registers.size());
  if (registers.size() == 1 && !p.write_multiple) {
    out.function = modbus::FunctionCode::write_single_register;
    out.request = modbus::write_single_register(instrument.unit, p.address, registers.front());
  } else {
    out.function = modbus::FunctionCode::write_multiple_registers;
    out.request = modbus::write_multiple_registers(instrument.unit, p.address, registers);
  }
  out.raw = registers.size() == 1 ? fmt::format("register {} = {}", p.address, registers.front())
                                  : fmt::format("registers {}..{} = {}", p.address, p.address + registers.size() - 1,
                                                fmt::join(registers, " "));
  return out;
}

}  // namespace weft::apps
