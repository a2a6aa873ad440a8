// Tests of the streaming response verdict: decoding of every function's
// response, the byte-by-byte NeedMore countdown, each error kind, noise
// before and after a frame (skipped, located, never a frame without a good
// CRC), and robustness: every prefix and every one- and two-bit corruption
// of valid frames, and 100k random garbage inputs (fixed seed) never crash
// or pass.
#include "weft/drivers/modbus/response.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <random>

#include "weft/drivers/modbus/crc.hpp"
#include "weft/drivers/modbus/pdu.hpp"

using namespace weft::modbus;
using Catch::Matchers::Contains;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes with_crc(Bytes frame) {
  append_crc(frame);
  return frame;
}

Error error_of(const ParseResult& result) {
  const Error* error = std::get_if<Error>(&result);
  REQUIRE(error != nullptr);
  return *error;
}

std::size_t need_of(const ParseResult& result) {
  const NeedMore* need = std::get_if<NeedMore>(&result);
  REQUIRE(need != nullptr);
  return need->bytes;
}

bool is_success(const ParseResult& result) {
  return !std::holds_alternative<NeedMore>(result) && !std::holds_alternative<Error>(result);
}

// One valid request/response pair per supported function.
struct Exchange {
  Bytes request;
  Bytes response;
};

std::vector<Exchange> valid_exchanges() {
  const std::array<std::uint16_t, 2> registers{0x000A, 0x0102};
  return {
      {read_coils(0x11, 0x0013, 0x25), with_crc({0x11, 0x01, 0x05, 0xCD, 0x6B, 0xB2, 0x0E, 0x1B})},
      {read_discrete_inputs(0x11, 0x00C4, 0x16), with_crc({0x11, 0x02, 0x03, 0xAC, 0xDB, 0x35})},
      {read_holding_registers(0x11, 0x006B, 3),
       {0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD}},
      {read_input_registers(0x11, 0x0008, 1), with_crc({0x11, 0x04, 0x02, 0x00, 0x0A})},
      {write_single_coil(0x11, 0x00AC, true), {0x11, 0x05, 0x00, 0xAC, 0xFF, 0x00, 0x4E, 0x8B}},
      {write_single_register(0x11, 0x0001, 0x0003), with_crc({0x11, 0x06, 0x00, 0x01, 0x00, 0x03})},
      {write_multiple_coils(0x11, 0x0013, std::vector<bool>(10, true)),
       {0x11, 0x0F, 0x00, 0x13, 0x00, 0x0A, 0x26, 0x99}},
      {write_multiple_registers(0x11, 0x0001, registers), {0x11, 0x10, 0x00, 0x01, 0x00, 0x02, 0x12, 0x98}},
  };
}

}  // namespace

TEST_CASE("modbus read registers response decodes the spec example", "[modbus][response]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Bytes response{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD};
  const ParseResult result = parse_response(request, response);
  const auto* read = std::get_if<RegistersRead>(&result);
  REQUIRE(read != nullptr);
  CHECK(read->registers == std::vector<std::uint16_t>{0xAE41, 0x5652, 0x4340});
}

TEST_CASE("modbus read bits response yields exactly the requested count", "[modbus][response]") {
  // The spec's read coils example: coils 20..56, 37 of them, LSB first.
  const Bytes request = read_coils(0x11, 0x0013, 0x25);
  const ParseResult result =
      parse_response(request, with_crc({0x11, 0x01, 0x05, 0xCD, 0x6B, 0xB2, 0x0E, 0x1B}));
  const auto* read = std::get_if<BitsRead>(&result);
  REQUIRE(read != nullptr);
  REQUIRE(read->bits.size() == 37);
  const std::vector<bool> first_byte{true, false, true, true, false, false, true, true};  // 0xCD
  CHECK(std::vector<bool>(read->bits.begin(), read->bits.begin() + 8) == first_byte);
  const std::vector<bool> last_five{true, true, false, true, true};  // 0x1B, padding ignored
  CHECK(std::vector<bool>(read->bits.end() - 5, read->bits.end()) == last_five);
}

TEST_CASE("modbus write responses confirm the echo", "[modbus][response]") {
  const ParseResult coil = parse_response(write_single_coil(0x11, 0x00AC, true),
                                          Bytes{0x11, 0x05, 0x00, 0xAC, 0xFF, 0x00, 0x4E, 0x8B});
  REQUIRE(std::holds_alternative<WriteEcho>(coil));
  CHECK(std::get<WriteEcho>(coil).address == 0x00AC);
  CHECK(std::get<WriteEcho>(coil).value == 0xFF00);

  const std::array<std::uint16_t, 2> registers{0x000A, 0x0102};
  const ParseResult multiple = parse_response(write_multiple_registers(0x11, 0x0001, registers),
                                              Bytes{0x11, 0x10, 0x00, 0x01, 0x00, 0x02, 0x12, 0x98});
  REQUIRE(std::holds_alternative<WriteEcho>(multiple));
  CHECK(std::get<WriteEcho>(multiple).address == 1);
  CHECK(std::get<WriteEcho>(multiple).value == 2);
}

TEST_CASE("modbus write echo naming another value is an echo mismatch", "[modbus][response]") {
  const Bytes request = write_single_register(0x11, 0x0001, 0x0003);
  CHECK(error_of(parse_response(request, with_crc({0x11, 0x06, 0x00, 0x01, 0x00, 0x04}))) ==
        Error{errc::echo_mismatch});
  CHECK(error_of(parse_response(request, with_crc({0x11, 0x06, 0x00, 0x02, 0x00, 0x03}))) ==
        Error{errc::echo_mismatch});
  const Bytes coils = write_multiple_coils(0x11, 0x0013, std::vector<bool>(10, true));
  CHECK(error_of(parse_response(coils, with_crc({0x11, 0x0F, 0x00, 0x13, 0x00, 0x09}))) ==
        Error{errc::echo_mismatch});
}

TEST_CASE("modbus exception responses carry the server's code", "[modbus][response]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Error error = error_of(parse_response(request, with_crc({0x11, 0x83, 0x02})));
  CHECK(error.code == errc::exception_response);
  CHECK(error.exception == ExceptionCode::illegal_data_address);

  const Error unknown = error_of(parse_response(request, with_crc({0x11, 0x83, 0x37})));
  CHECK(unknown.exception == static_cast<ExceptionCode>(0x37));

  CHECK(error_of(parse_final_response(request, Bytes{0x11, 0x83, 0x02, 0x00, 0x00})) == Error{errc::bad_crc});
}

TEST_CASE("modbus NeedMore counts down to the frame's length", "[modbus][response]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Bytes response{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD};
  const std::span<const std::uint8_t> all(response);
  CHECK(need_of(parse_response(request, all.first(0))) == 5);  // an exception is the shortest frame
  CHECK(need_of(parse_response(request, all.first(1))) == 4);
  for (std::size_t received = 2; received < response.size(); ++received) {
    CHECK(need_of(parse_response(request, all.first(received))) == response.size() - received);
  }

  const Bytes exception = with_crc({0x11, 0x83, 0x04});
  const std::span<const std::uint8_t> short_frame(exception);
  CHECK(need_of(parse_response(request, short_frame.first(2))) == 3);
  CHECK(need_of(parse_response(request, short_frame.first(4))) == 1);
}

TEST_CASE("modbus bytes after a complete frame are ignored", "[modbus][response]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Bytes response{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD, 0x00, 0xFF};
  CHECK(std::holds_alternative<RegistersRead>(parse_response(request, response)));
}

TEST_CASE("modbus wrong unit, function and byte count rule a start out, and the final verdict says which", "[modbus][response]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  for (const Bytes& bad : {Bytes{0x12}, Bytes{0x11, 0x04}, Bytes{0x11, 0x84}, Bytes{0x11, 0x03, 0x04}}) {
    const ResponseScan scan = scan_response(request, bad);
    CHECK(need_of(scan.result) == 5);        // the frame may still start after these bytes
    CHECK(scan.frame_at == bad.size());
    CHECK_FALSE(scan.frame_started);         // nothing plausible yet: the master keeps waiting for the answer
  }
  CHECK(error_of(parse_final_response(request, Bytes{0x12})) == Error{errc::wrong_unit});
  CHECK(error_of(parse_final_response(request, Bytes{0x11, 0x04})) == Error{errc::wrong_function});
  CHECK(error_of(parse_final_response(request, Bytes{0x11, 0x84})) == Error{errc::wrong_function});
  CHECK(error_of(parse_final_response(request, Bytes{0x11, 0x03, 0x04})) == Error{errc::malformed});
  CHECK(error_of(parse_final_response(request, Bytes{0x11, 0x03, 0x08})) == Error{errc::malformed});
}

TEST_CASE("modbus one noise byte before a valid answer is skipped and located", "[modbus][response][noise]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Bytes answer{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD};
  Bytes received{0x00};
  received.insert(received.end(), answer.begin(), answer.end());
  const ResponseScan scan = scan_response(request, received);
  REQUIRE(std::holds_alternative<RegistersRead>(scan.result));
  CHECK(std::get<RegistersRead>(scan.result).registers == std::vector<std::uint16_t>{0xAE41, 0x5652, 0x4340});
  CHECK(scan.frame_at == 1);
  CHECK(scan.frame_length == answer.size());
  // Streaming: after the noise byte and a part of the answer, a frame has started.
  const ResponseScan partial = scan_response(request, std::span<const std::uint8_t>(received).first(4));
  CHECK(need_of(partial.result) == answer.size() - 3);
  CHECK(partial.frame_at == 1);
  CHECK(partial.frame_started);
}

TEST_CASE("modbus several noise bytes, an echo of the request and trailing bytes are skipped", "[modbus][response][noise]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Bytes answer{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD};
  for (const Bytes& noise : {Bytes{0xFF, 0x00, 0xFE}, Bytes(40, 0x00), request /* an RS-485 adapter's echo */,
                             Bytes{0x11, 0x11, 0x03}}) {
    Bytes received = noise;
    received.insert(received.end(), answer.begin(), answer.end());
    received.push_back(0x00);  // a glitch after the answer
    const ResponseScan scan = scan_response(request, received);
    INFO("noise of " << noise.size() << " bytes");
    REQUIRE(std::holds_alternative<RegistersRead>(scan.result));
    CHECK(scan.frame_at == noise.size());
    CHECK(scan.frame_length == answer.size());
    CHECK(std::holds_alternative<RegistersRead>(parse_final_response(request, received)));
  }
}

TEST_CASE("modbus noise that looks like a frame start with a bad CRC does not hide the real answer", "[modbus][response][noise]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Bytes answer{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD};
  // A plausible start (unit, function, byte count) whose frame, taken at
  // that offset, has a bad CRC: it must be ruled out, not accepted or fatal.
  Bytes received{0x11, 0x03, 0x06, 0x01, 0x02};
  received.insert(received.end(), answer.begin(), answer.end());
  const std::span<const std::uint8_t> all(received);
  for (std::size_t n = 0; n < received.size(); ++n) {
    INFO("after " << n << " bytes");
    CHECK(std::holds_alternative<NeedMore>(parse_response(request, all.first(n))));  // never an early error
  }
  const ResponseScan scan = scan_response(request, received);
  REQUIRE(std::holds_alternative<RegistersRead>(scan.result));
  CHECK(scan.frame_at == 5);
  // The same start alone, once the line is quiet, is a bad CRC.
  Bytes lone{0x11, 0x03, 0x06, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  CHECK(error_of(parse_final_response(request, lone)) == Error{errc::bad_crc});
}

TEST_CASE("modbus a frame is never accepted without a good CRC, at any offset", "[modbus][response][noise]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  Bytes answer{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD};
  answer.back() ^= 0x01;
  for (std::size_t noise = 0; noise < 8; ++noise) {
    Bytes received(noise, 0x00);
    received.insert(received.end(), answer.begin(), answer.end());
    CHECK(error_of(parse_final_response(request, received)) == Error{errc::bad_crc});
  }
}

TEST_CASE("modbus noise past max_leading_noise is an error without waiting for the line to go quiet", "[modbus][response][noise]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  const Bytes noise(max_leading_noise + 1, 0x00);
  CHECK(error_of(parse_response(request, noise)) == Error{errc::wrong_unit});
  CHECK(std::holds_alternative<NeedMore>(parse_response(request, std::span<const std::uint8_t>(noise).first(max_leading_noise))));
}

TEST_CASE("modbus final verdict turns NeedMore into timeout or truncated", "[modbus][response]") {
  const Bytes request = read_holding_registers(0x11, 0x006B, 3);
  CHECK(error_of(parse_final_response(request, Bytes{})) == Error{errc::timeout});
  CHECK(error_of(parse_final_response(request, Bytes{0x11, 0x03, 0x06, 0xAE})) == Error{errc::truncated});
  CHECK(error_of(parse_final_response(request, Bytes{0x12})) == Error{errc::wrong_unit});
  CHECK(std::holds_alternative<RegistersRead>(parse_final_response(
      request, Bytes{0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40, 0x49, 0xAD})));
}

TEST_CASE("modbus parsing needs a request that expects a response", "[modbus][response]") {
  CHECK_THROWS_WITH(parse_response(write_single_register(broadcast_unit, 1, 2), Bytes{}),
                    Contains("broadcast"));
  CHECK_THROWS_AS(parse_response(Bytes{0x11, 0x03}, Bytes{}), std::invalid_argument);
}

TEST_CASE("modbus every valid exchange parses and every prefix needs more", "[modbus][response]") {
  for (const Exchange& exchange : valid_exchanges()) {
    INFO("request function " << int(exchange.request[1]));
    REQUIRE(exchange.response.size() == expected_response_length(exchange.request));
    CHECK(is_success(parse_response(exchange.request, exchange.response)));
    const std::span<const std::uint8_t> all(exchange.response);
    for (std::size_t received = 0; received < all.size(); ++received) {
      const ParseResult partial = parse_response(exchange.request, all.first(received));
      CHECK(need_of(partial) >= 1);
      CHECK(received + need_of(partial) <= all.size());
      CHECK(error_of(parse_final_response(exchange.request, all.first(received))) ==
            Error{received == 0 ? errc::timeout : errc::truncated});
    }
  }
}

TEST_CASE("modbus no one- or two-bit corruption of a valid frame passes", "[modbus][response]") {
  for (const Exchange& exchange : valid_exchanges()) {
    const std::size_t bits = exchange.response.size() * 8;
    for (std::size_t first = 0; first < bits; ++first) {
      for (std::size_t second = first; second < bits; ++second) {
        Bytes damaged = exchange.response;
        damaged[first / 8] = static_cast<std::uint8_t>(damaged[first / 8] ^ (1u << (first % 8)));
        if (second != first) {
          damaged[second / 8] = static_cast<std::uint8_t>(damaged[second / 8] ^ (1u << (second % 8)));
        }
        const ParseResult result = parse_final_response(exchange.request, damaged);
        if (!std::holds_alternative<Error>(result)) {
          FAIL("bits " << first << " and " << second << " flipped in function "
                       << int(exchange.request[1]) << " passed");
        }
      }
    }
  }
}

TEST_CASE("modbus random garbage never crashes and never passes", "[modbus][response][fuzz]") {
  const std::vector<Exchange> exchanges = valid_exchanges();
  std::mt19937 random(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 300);
  std::uniform_int_distribution<std::size_t> which(0, exchanges.size() - 1);
  std::size_t successes = 0;
  std::size_t errors = 0;
  for (int iteration = 0; iteration < 100'000; ++iteration) {
    const Exchange& exchange = exchanges[which(random)];
    Bytes garbage(length(random));
    for (auto& b : garbage) {
      b = static_cast<std::uint8_t>(byte(random));
    }
    if (!garbage.empty() && iteration % 2 == 0) {
      garbage[0] = exchange.request[0];  // get past the unit check half the time
    }
    if (garbage.size() > 1 && iteration % 4 == 0) {
      garbage[1] = exchange.request[1];  // and past the function check a quarter
    }
    const ParseResult result = parse_response(exchange.request, garbage);
    if (const NeedMore* need = std::get_if<NeedMore>(&result)) {
      REQUIRE(need->bytes >= 1);
      REQUIRE(garbage.size() + need->bytes <= max_leading_noise + 256);
    } else if (!std::holds_alternative<Error>(result)) {
      ++successes;
    }
    const ParseResult final = parse_final_response(exchange.request, garbage);
    if (std::holds_alternative<Error>(final)) ++errors;
    else ++successes;
  }
  CHECK(successes == 0);
  CHECK(errors == 100'000);
}
