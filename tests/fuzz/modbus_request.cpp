// Fuzz target: Modbus request ADUs and register values (drivers/src/modbus:
// pdu.cpp, crc.cpp, registers.cpp). inspect_request reads bytes that come
// from outside when weft serves as a simulated device (sim/modbus_device)
// or decodes a capture; the builders and registers are checked as pairs.
// Invariants:
// - inspect_request either throws std::invalid_argument whose message names
//   Modbus and what was wrong, or accepts a request that the builders
//   reproduce byte for byte (coil padding bits aside), whose CRC checks;
// - builder -> inspect_request round trip returns what was built;
// - registers: decode(encode(v)) == v and encode(decode(r)) == r for every
//   type and word order (floats: NaN and -0.0 aside; 64-bit integers:
//   within 2^53).
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "weft/drivers/modbus/crc.hpp"
#include "weft/drivers/modbus/pdu.hpp"
#include "weft/drivers/modbus/registers.hpp"

namespace {

using namespace weft::modbus;
using weft::fuzz::FuzzBytes;

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

// The builders' output for what inspect_request accepted.
Adu rebuild(const RequestInfo& info, std::span<const std::uint8_t> bytes) {
  switch (info.function) {
    case FunctionCode::write_single_coil: return write_single_coil(info.unit, info.start, be16(bytes, 4) == 0xFF00);
    case FunctionCode::write_single_register: return write_single_register(info.unit, info.start, be16(bytes, 4));
    case FunctionCode::write_multiple_coils: {
      std::vector<bool> bits(info.count);
      for (std::size_t i = 0; i < info.count; ++i) bits[i] = ((bytes[7 + i / 8] >> (i % 8)) & 1u) != 0;
      return write_multiple_coils(info.unit, info.start, bits);
    }
    case FunctionCode::write_multiple_registers: {
      std::vector<std::uint16_t> values(info.count);
      for (std::size_t i = 0; i < info.count; ++i) values[i] = be16(bytes, 7 + 2 * i);
      return write_multiple_registers(info.unit, info.start, values);
    }
    default: return read_request(info.function, info.unit, info.start, info.count);
  }
}

void inspect_raw(std::span<const std::uint8_t> bytes) {
  RequestInfo info;
  try {
    info = inspect_request(bytes);
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    FUZZ_CHECK(what.rfind("modbus ", 0) == 0 && what.size() > 20, "unhelpful rejection '%s'", what.c_str());
    return;
  }
  FUZZ_CHECK(check_crc(bytes), "accepted a request whose CRC does not check");
  const Adu again = rebuild(info, bytes);
  bool padding = false;  // coil bits past the count are ignored by the reader and zero in the builder
  if (info.function == FunctionCode::write_multiple_coils && info.count % 8 != 0)
    padding = (bytes[7 + info.count / 8] >> (info.count % 8)) != 0;
  if (!padding) FUZZ_CHECK(again.size() == bytes.size() && std::equal(again.begin(), again.end(), bytes.begin()),
                           "an accepted request the builders do not reproduce");
  FUZZ_CHECK(inspect_request(again) == info, "rebuilt request inspects differently");
  FUZZ_CHECK(expects_response(bytes) == (info.unit != broadcast_unit), "expects_response");
  const std::size_t length = expected_response_length(bytes);
  FUZZ_CHECK(info.unit == broadcast_unit ? length == 0 : length >= 5 && length <= 256, "response length %zu", length);
}

void build(FuzzBytes& in) {
  const auto unit = in.u8();
  const auto start = in.u16();
  const auto count = in.u16();
  const std::uint8_t which = in.u8() % 8;
  Adu adu;
  try {
    switch (which) {
      case 0: adu = read_coils(unit, start, count); break;
      case 1: adu = read_discrete_inputs(unit, start, count); break;
      case 2: adu = read_holding_registers(unit, start, count); break;
      case 3: adu = read_input_registers(unit, start, count); break;
      case 4: adu = write_single_coil(unit, start, count & 1u); break;
      case 5: adu = write_single_register(unit, start, count); break;
      case 6: adu = write_multiple_coils(unit, start, std::vector<bool>(count % 2048, (count & 1u) != 0)); break;
      default: {
        std::vector<std::uint16_t> values(count % 128);
        for (auto& v : values) v = in.u16();
        adu = write_multiple_registers(unit, start, values);
      }
    }
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    FUZZ_CHECK(what.rfind("modbus ", 0) == 0 && what.size() > 20, "unhelpful argument error '%s'", what.c_str());
    return;
  }
  const RequestInfo info = inspect_request(adu);  // must not throw: the builder made it
  FUZZ_CHECK(info.unit == unit && info.start == start, "round trip lost unit or start");
  static constexpr std::array<std::uint8_t, 8> kCodes{1, 2, 3, 4, 5, 6, 15, 16};
  FUZZ_CHECK(static_cast<std::uint8_t>(info.function) == kCodes[which], "round trip changed the function");
}

void registers(FuzzBytes& in) {
  const auto type = static_cast<RegisterType>(in.u8() % 8);
  const auto order = static_cast<WordOrder>(in.u8() % 4);
  std::vector<std::uint16_t> regs(4);
  for (auto& r : regs) r = in.u16();
  regs.resize(register_count(type));
  const double value = decode(regs, type, order);
  // -0.0 decodes to +0.0 (value * 1.0 + 0.0): the same number, other bits.
  const bool exact = !std::isnan(value) && value != 0.0 &&
                     !((type == RegisterType::int64 || type == RegisterType::uint64) && std::fabs(value) >= 0x1p53);
  if (exact) {
    const std::vector<std::uint16_t> back = encode(value, type, order);
    FUZZ_CHECK(back == regs, "encode(decode(r)) != r for %s %s", std::string(to_string(type)).c_str(),
               std::string(to_string(order)).c_str());
  }
  FUZZ_CHECK(parse_register_type(to_string(type)) == type && parse_word_order(to_string(order)) == order,
             "names do not parse back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  FuzzBytes in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: inspect_raw(in.rest()); break;
    case 1: build(in); break;
    default: registers(in); break;
  }
  return 0;
}
