// SerialSettings::validate() and describe(): the checks are the same ones
// the termios layer relies on, so a validated value always maps onto a
// termios setting; messages name the port, the field and the allowed values.
#include "weft/drivers/serial/settings.hpp"

#include <algorithm>
#include <array>

namespace weft::serial {
namespace {

constexpr std::array<unsigned, 11> kBaudRates{1200,  2400,   4800,   9600,   19200, 38400,
                                              57600, 115200, 230400, 460800, 921600};

std::string baud_list() {
  std::string out;
  for (unsigned b : kBaudRates) {
    if (!out.empty()) out += ", ";
    out += std::to_string(b);
  }
  return out;
}

std::string where(const SerialSettings& s) { return "serial port " + (s.path.empty() ? std::string("(no path)") : s.path); }

}  // namespace

std::span<const unsigned> standard_baud_rates() noexcept { return kBaudRates; }

const char* to_string(FlowControl flow) noexcept {
  switch (flow) {
    case FlowControl::none: return "none";
    case FlowControl::rts_cts: return "rts_cts";
    case FlowControl::xon_xoff: return "xon_xoff";
  }
  return "invalid";
}

std::optional<std::string> SerialSettings::validate() const {
  if (path.empty()) return where(*this) + ": path is empty; set it to the device, e.g. /dev/ttyUSB0";
  if (std::find(kBaudRates.begin(), kBaudRates.end(), baud) == kBaudRates.end())
    return where(*this) + ": baud " + std::to_string(baud) + " is not supported; use one of " + baud_list();
  if (data_bits < 5 || data_bits > 8)
    return where(*this) + ": data_bits " + std::to_string(data_bits) + " is not supported; use 5, 6, 7 or 8";
  if (parity != 'N' && parity != 'E' && parity != 'O')
    return where(*this) + ": parity '" + std::string(1, parity) +
           "' is not supported; use 'N' (none), 'E' (even) or 'O' (odd)";
  if (stop_bits != 1 && stop_bits != 2)
    return where(*this) + ": stop_bits " + std::to_string(stop_bits) + " is not supported; use 1 or 2";
  if (flow != FlowControl::none && flow != FlowControl::rts_cts && flow != FlowControl::xon_xoff)
    return where(*this) + ": flow " + std::to_string(static_cast<int>(flow)) +
           " is not supported; use none, rts_cts or xon_xoff";
  return std::nullopt;
}

std::string SerialSettings::describe() const {
  return std::to_string(baud) + " " + std::to_string(data_bits) + std::string(1, parity) + std::to_string(stop_bits) +
         ", flow " + to_string(flow);
}

}  // namespace weft::serial
