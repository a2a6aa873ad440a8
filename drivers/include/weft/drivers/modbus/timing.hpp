// RTU line timing from the serial settings: the time of one character on the
// wire and the inter-character (t1.5) and inter-frame (t3.5) silences. Above
// 19200 baud the spec fixes t1.5 = 750 us and t3.5 = 1.75 ms. Durations are
// rounded to the nearest nanosecond; invalid settings throw std::invalid_argument.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft::modbus {

struct LineSettings {
  std::uint32_t baud = 19200;
  int data_bits = 8;  // 7 or 8
  char parity = 'E';  // 'N', 'E' or 'O'
  int stop_bits = 1;  // 1 or 2

  void validate() const;  // throws std::invalid_argument naming the bad field
  int bits_per_character() const;  // 1 start + data + parity + stop
  std::chrono::nanoseconds character_time() const;
  std::chrono::nanoseconds t1_5() const;
  std::chrono::nanoseconds t3_5() const;
  std::chrono::nanoseconds frame_wire_time(std::size_t bytes) const;

  friend bool operator==(const LineSettings&, const LineSettings&) = default;
};

}  // namespace weft::modbus
