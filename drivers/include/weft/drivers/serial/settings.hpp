// SerialSettings: what a config says about one serial port (device path,
// baud, framing, flow control) and validate(), which rejects anything the
// port layer cannot apply, naming the bad field and the allowed values.
// A validated SerialSettings is the only input the open path accepts.
#pragma once

#include <optional>
#include <span>
#include <string>

namespace weft::serial {

enum class FlowControl { none, rts_cts, xon_xoff };

struct SerialSettings {
  std::string path;  // e.g. /dev/ttyUSB0 or /dev/serial/by-id/...
  unsigned baud = 9600;
  unsigned data_bits = 8;  // 5..8
  char parity = 'N';       // 'N' none, 'E' even, 'O' odd
  unsigned stop_bits = 1;  // 1 or 2
  FlowControl flow = FlowControl::none;

  // Empty when valid; otherwise one message naming the port, the bad field,
  // its value and the allowed values.
  [[nodiscard]] std::optional<std::string> validate() const;
  // "19200 8E1, flow none": for messages.
  [[nodiscard]] std::string describe() const;
};

// The baud rates validate() accepts, ascending.
std::span<const unsigned> standard_baud_rates() noexcept;
const char* to_string(FlowControl flow) noexcept;

}  // namespace weft::serial
