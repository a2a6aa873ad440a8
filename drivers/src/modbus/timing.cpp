// RTU timing arithmetic in integers: every duration is a whole number of half
// bit times (a character is 2 x bits, t1.5 is 3 x bits, t3.5 is 7 x bits),
// converted to nanoseconds with a single rounding, even for long frames.
#include "weft/drivers/modbus/timing.hpp"

#include <stdexcept>
#include <string>

namespace weft::modbus {
namespace {

using std::chrono::nanoseconds;

constexpr std::uint32_t fixed_timing_above_baud = 19200;
constexpr nanoseconds fixed_t1_5 = std::chrono::microseconds(750);
constexpr nanoseconds fixed_t3_5 = std::chrono::microseconds(1750);
constexpr std::uint64_t ns_per_second = 1'000'000'000;

// round(half_bits / (2 * baud) seconds), without overflow for any realistic frame.
nanoseconds half_bits_to_time(std::uint64_t half_bits, std::uint32_t baud) {
  const std::uint64_t half_bits_per_second = 2ull * baud;
  const std::uint64_t whole_seconds = half_bits / half_bits_per_second;
  const std::uint64_t remainder = half_bits % half_bits_per_second;
  const std::uint64_t fraction_ns = (remainder * ns_per_second + half_bits_per_second / 2) / half_bits_per_second;
  return nanoseconds(static_cast<nanoseconds::rep>(whole_seconds * ns_per_second + fraction_ns));
}

[[noreturn]] void reject(const std::string& what) {
  throw std::invalid_argument("modbus line settings: " + what);
}

}  // namespace

void LineSettings::validate() const {
  if (baud == 0) {
    reject("baud must be positive");
  }
  if (data_bits != 7 && data_bits != 8) {
    reject("data bits must be 7 or 8, got " + std::to_string(data_bits));
  }
  if (parity != 'N' && parity != 'E' && parity != 'O') {
    reject("parity must be 'N', 'E' or 'O', got '" + std::string(1, parity) + "'");
  }
  if (stop_bits != 1 && stop_bits != 2) {
    reject("stop bits must be 1 or 2, got " + std::to_string(stop_bits));
  }
}

int LineSettings::bits_per_character() const {
  validate();
  const int start_bits = 1;
  const int parity_bits = parity == 'N' ? 0 : 1;
  return start_bits + data_bits + parity_bits + stop_bits;
}

nanoseconds LineSettings::character_time() const {
  return half_bits_to_time(2ull * static_cast<std::uint64_t>(bits_per_character()), baud);
}

nanoseconds LineSettings::t1_5() const {
  const auto bits = static_cast<std::uint64_t>(bits_per_character());
  return baud > fixed_timing_above_baud ? fixed_t1_5 : half_bits_to_time(3 * bits, baud);
}

nanoseconds LineSettings::t3_5() const {
  const auto bits = static_cast<std::uint64_t>(bits_per_character());
  return baud > fixed_timing_above_baud ? fixed_t3_5 : half_bits_to_time(7 * bits, baud);
}

nanoseconds LineSettings::frame_wire_time(std::size_t bytes) const {
  const auto bits = static_cast<std::uint64_t>(bits_per_character());
  return half_bits_to_time(2 * bits * bytes, baud);
}

}  // namespace weft::modbus
