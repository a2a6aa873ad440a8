// Fuzz target: Modbus RTU response parsing and resynchronisation over a byte
// stream (drivers/src/modbus/response.cpp). The input picks a valid request
// (function, unit, range, values) and the bytes the line delivers, fed in
// chunks as RtuMaster feeds them (scan_response after each chunk, the final
// scan when the line goes quiet). Invariants beyond "no crash, no read past
// the span" (ASan):
// - a verdict's frame lies inside what was received, its CRC checks, its unit
//   is the request's, and its decoded value is what its bytes say;
// - a non-final Error comes only once every leading-noise offset is ruled out;
// - a frame verdict does not change when more bytes arrive after it;
// - the final verdict is never NeedMore, and every Error has a message;
// - encode -> decode: a response built from values (after up to 255 noise
//   bytes that hold no frame of their own) decodes to those values.
#include <optional>
#include <vector>

#include "fuzz_support.hpp"
#include "weft/drivers/modbus/crc.hpp"
#include "weft/drivers/modbus/pdu.hpp"
#include "weft/drivers/modbus/response.hpp"

namespace {

using namespace weft::modbus;
using weft::fuzz::FuzzBytes;

constexpr FunctionCode kFunctions[] = {
    FunctionCode::read_coils,          FunctionCode::read_discrete_inputs,  FunctionCode::read_holding_registers,
    FunctionCode::read_input_registers, FunctionCode::write_single_coil,    FunctionCode::write_single_register,
    FunctionCode::write_multiple_coils, FunctionCode::write_multiple_registers};

std::uint16_t limit_of(FunctionCode f) {
  switch (f) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs: return max_read_bits;
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers: return max_read_registers;
    case FunctionCode::write_multiple_coils: return max_write_coils;
    case FunctionCode::write_multiple_registers: return max_write_registers;
    default: return 1;
  }
}

struct Request {
  Adu adu;
  FunctionCode function;
  std::uint8_t unit;
  std::uint16_t count;
};

Request make_request(FuzzBytes& in) {
  const FunctionCode f = kFunctions[in.u8() % 8];
  const auto unit = static_cast<std::uint8_t>(1 + in.u8() % max_unit);
  std::uint16_t start = in.u16();
  const auto count = static_cast<std::uint16_t>(1 + in.u16() % limit_of(f));
  if (start + count > 0x10000) start = static_cast<std::uint16_t>(0x10000 - count);
  switch (f) {
    case FunctionCode::write_single_coil: return {write_single_coil(unit, start, in.flag()), f, unit, 1};
    case FunctionCode::write_single_register: return {write_single_register(unit, start, in.u16()), f, unit, 1};
    case FunctionCode::write_multiple_coils: {
      std::vector<bool> bits(count);
      for (std::size_t i = 0; i < count; ++i) bits[i] = (i % 8 == 0) ? in.flag() : bits[i - 1];
      return {write_multiple_coils(unit, start, bits), f, unit, count};
    }
    case FunctionCode::write_multiple_registers: {
      std::vector<std::uint16_t> values(count);
      for (auto& v : values) v = in.u8();
      return {write_multiple_registers(unit, start, values), f, unit, count};
    }
    default: return {read_request(f, unit, start, count), f, unit, count};
  }
}

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

bool same(const ParseResult& a, const ParseResult& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<BitsRead>(&a)) return x->bits == std::get<BitsRead>(b).bits;
  if (const auto* x = std::get_if<RegistersRead>(&a)) return x->registers == std::get<RegistersRead>(b).registers;
  if (const auto* x = std::get_if<WriteEcho>(&a))
    return x->address == std::get<WriteEcho>(b).address && x->value == std::get<WriteEcho>(b).value;
  if (const auto* x = std::get_if<Error>(&a)) return *x == std::get<Error>(b);
  return std::get<NeedMore>(a).bytes == std::get<NeedMore>(b).bytes;
}

// What every verdict must satisfy, final or not.
void check_scan(const Request& r, std::span<const std::uint8_t> received, const ResponseScan& s, bool final) {
  FUZZ_CHECK(s.frame_at <= received.size(), "frame_at %zu of %zu", s.frame_at, received.size());
  FUZZ_CHECK(s.frame_length <= received.size() - s.frame_at, "frame runs past the received bytes");
  if (const auto* e = std::get_if<Error>(&s.result)) {
    FUZZ_CHECK(!e->message().empty(), "an error without a message");
    FUZZ_CHECK(s.frame_length == 0 || e->exception || e->code == make_error_code(errc::echo_mismatch),
               "an error verdict with a frame that is neither an exception nor an echo mismatch");
    if (!final && s.frame_length == 0)  // no frame: every offset must have been ruled out
      FUZZ_CHECK(received.size() > max_leading_noise, "early error after only %zu bytes", received.size());
  }
  if (const auto* n = std::get_if<NeedMore>(&s.result)) {
    FUZZ_CHECK(!final, "the final verdict asks for more bytes");
    FUZZ_CHECK(n->bytes >= 1, "NeedMore of 0 bytes");
    FUZZ_CHECK(s.frame_length == 0, "NeedMore with a frame");
  }
  if (s.frame_length == 0) {
    FUZZ_CHECK(!std::holds_alternative<BitsRead>(s.result) && !std::holds_alternative<RegistersRead>(s.result) &&
                   !std::holds_alternative<WriteEcho>(s.result),
               "a decoded value without a frame");
    return;
  }
  const auto frame = received.subspan(s.frame_at, s.frame_length);
  FUZZ_CHECK(check_crc(frame), "accepted a frame whose CRC does not check");
  FUZZ_CHECK(frame[0] == r.unit, "accepted a frame from unit %u for unit %u", frame[0], r.unit);
  const auto fc = static_cast<std::uint8_t>(r.function);
  if (frame[1] == (fc | 0x80)) {
    FUZZ_CHECK(frame.size() == exception_response_length, "exception frame of %zu bytes", frame.size());
    const auto* e = std::get_if<Error>(&s.result);
    FUZZ_CHECK(e != nullptr && e->exception && static_cast<std::uint8_t>(*e->exception) == frame[2],
               "exception frame not decoded as its exception code");
    return;
  }
  FUZZ_CHECK(frame[1] == fc, "accepted a frame of function %u for %u", frame[1], fc);
  FUZZ_CHECK(frame.size() == expected_response_length(r.adu), "frame length %zu", frame.size());
  if (const auto* bits = std::get_if<BitsRead>(&s.result)) {
    FUZZ_CHECK(is_read(r.function) && bits->bits.size() == r.count, "bit count");
    for (std::size_t i = 0; i < r.count; ++i)
      FUZZ_CHECK(bits->bits[i] == (((frame[3 + i / 8] >> (i % 8)) & 1u) != 0), "bit %zu decoded wrong", i);
  } else if (const auto* regs = std::get_if<RegistersRead>(&s.result)) {
    FUZZ_CHECK(is_read(r.function) && regs->registers.size() == r.count, "register count");
    for (std::size_t i = 0; i < r.count; ++i)
      FUZZ_CHECK(regs->registers[i] == be16(frame, 3 + 2 * i), "register %zu decoded wrong", i);
  } else if (const auto* echo = std::get_if<WriteEcho>(&s.result)) {
    FUZZ_CHECK(is_write(r.function), "an echo for a read");
    FUZZ_CHECK(std::equal(frame.begin(), frame.begin() + 6, r.adu.begin()), "an echo that differs from the request");
    FUZZ_CHECK(echo->address == be16(frame, 2) && echo->value == be16(frame, 4), "echo fields decoded wrong");
  } else {
    const auto* e = std::get_if<Error>(&s.result);
    FUZZ_CHECK(e != nullptr && e->code == make_error_code(errc::echo_mismatch) && is_write(r.function),
               "a frame verdict that is neither a value nor an echo mismatch");
    FUZZ_CHECK(!std::equal(frame.begin(), frame.begin() + 6, r.adu.begin()), "echo mismatch on a matching echo");
  }
}

// The stream as RtuMaster sees it: chunks, a scan after each, the final scan
// once the bytes run out.
void stream(const Request& r, std::span<const std::uint8_t> bytes, std::uint8_t chunking) {
  std::size_t have = 0;
  ResponseScan s = scan_response(r.adu, bytes.first(0));
  check_scan(r, bytes.first(0), s, false);
  std::size_t step = 0;
  while (std::holds_alternative<NeedMore>(s.result) && have < bytes.size()) {
    const std::size_t chunk = 1 + ((chunking >> (step++ % 8)) & 1u ? 0u : (chunking & 0x1Fu) * 3u);
    have = std::min(bytes.size(), have + chunk);
    s = scan_response(r.adu, bytes.first(have));
    check_scan(r, bytes.first(have), s, false);
  }
  if (std::holds_alternative<NeedMore>(s.result)) {
    s = scan_final_response(r.adu, bytes);
    check_scan(r, bytes, s, true);
    return;
  }
  // A verdict: more bytes after it change nothing when it was a frame (bytes
  // past a frame are ignored), and the final judgement of the same bytes agrees.
  if (s.frame_length > 0) {
    const ResponseScan later = scan_response(r.adu, bytes);
    FUZZ_CHECK(same(later.result, s.result) && later.frame_at == s.frame_at && later.frame_length == s.frame_length,
               "a frame verdict changed when more bytes arrived");
    const ResponseScan final = scan_final_response(r.adu, bytes.first(have));
    FUZZ_CHECK(same(final.result, s.result) && final.frame_at == s.frame_at, "final verdict disagrees with the frame");
  }
}

// encode -> decode: the response a correct server sends for `r`.
Adu response_for(const Request& r, FuzzBytes& in) {
  Adu out{r.unit, static_cast<std::uint8_t>(r.function)};
  if (is_read(r.function)) {
    const std::size_t data = expected_response_length(r.adu) - 5;
    out.push_back(static_cast<std::uint8_t>(data));
    for (std::size_t i = 0; i < data; ++i) out.push_back(in.u8());
    if (r.function == FunctionCode::read_coils || r.function == FunctionCode::read_discrete_inputs) {
      if (r.count % 8 != 0) out.back() = static_cast<std::uint8_t>(out.back() & ((1u << (r.count % 8)) - 1));
    }
  } else {
    out.assign(r.adu.begin(), r.adu.begin() + 6);
  }
  append_crc(out);
  return out;
}

void round_trip(const Request& r, FuzzBytes& in) {
  const std::size_t noise_length = in.u8();
  std::vector<std::uint8_t> line;
  for (std::size_t i = 0; i < noise_length; ++i) line.push_back(in.u8());
  const Adu response = response_for(r, in);
  // Noise that holds a frame, or a frame start still open at the response,
  // legitimately decides first; only clean noise must yield the response.
  const ResponseScan noise_alone = scan_final_response(r.adu, line);
  const bool clean_noise = line.empty() || (noise_alone.frame_length == 0 &&
                                           std::get<Error>(noise_alone.result).code == make_error_code(errc::wrong_unit));
  line.insert(line.end(), response.begin(), response.end());
  const auto trailing = in.rest();
  line.insert(line.end(), trailing.begin(), trailing.end());
  const ResponseScan s = scan_response(r.adu, line);
  check_scan(r, line, s, false);
  if (!clean_noise) return;
  FUZZ_CHECK(s.frame_length == response.size() && s.frame_at == noise_length,
             "the response after %zu clean noise bytes was not found (frame_at %zu, length %zu)", noise_length,
             s.frame_at, s.frame_length);
  if (is_read(r.function)) {
    FUZZ_CHECK(!std::holds_alternative<Error>(s.result), "a correct read response decoded as an error");
  } else {
    FUZZ_CHECK(std::holds_alternative<WriteEcho>(s.result), "a correct echo decoded as an error");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzBytes in(data, size);
  const std::uint8_t mode = in.u8();
  const Request r = make_request(in);
  if (mode & 0x80) {
    round_trip(r, in);
  } else {
    stream(r, in.rest(), mode);
  }
  return 0;
}
