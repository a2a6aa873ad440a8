// weft's RtuMaster against libmodbus, the reference C implementation, as
// the server (tests/peers/modbus_rtu_server.c) on the other end of a socat
// pty pair: the real tty path (open_exclusive, termios, SerialStream) on
// the runtime's real clock. Proves function codes 1-6, 15 and 16 frame and
// decode as libmodbus does (writes read back), an exception response is a
// typed Error that is not retried, and a server that stops answering is a
// timeout after exactly the configured retries (counted on the server's
// side of the wire), bounded in time. Every run is bounded by stop_after.
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <catch2/catch.hpp>

#include "integration/peer_process.hpp"
#include "support/pty_pair.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/drivers/flight_recorder.hpp"
#include "weft/drivers/modbus/rtu_master.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/serial_stream.hpp"

#ifndef WEFT_MODBUS_RTU_SERVER
#error "WEFT_MODBUS_RTU_SERVER (path of tests/peers/modbus_rtu_server) must be defined by the build"
#endif

namespace asio = boost::asio;
namespace mb = weft::modbus;
using namespace std::chrono_literals;
using weft::test::PeerProcess;
using weft::test::PtyPair;

namespace {

constexpr std::uint8_t kUnit = 17;
constexpr std::uint8_t kAbsentUnit = 18;  // nobody on the bus answers to it
constexpr auto kRunBound = 30s;  // no test may take longer, whatever the peers do

// The libmodbus server on pty.b(), 19200 8E1, unit 17; waits until it is up.
struct Server {
  Server(const PtyPair& pty, std::vector<std::string> mode = {"normal"})
      : process(args(pty, std::move(mode)), pty.dir() + "/server.log") {
    const bool up = process.wait_for_output("ready", 5s);
    INFO("server output:\n" << process.output());
    REQUIRE(up);
  }
  static std::vector<std::string> args(const PtyPair& pty, std::vector<std::string> mode) {
    std::vector<std::string> a{WEFT_MODBUS_RTU_SERVER, pty.b(), "19200", "E", std::to_string(kUnit)};
    a.insert(a.end(), mode.begin(), mode.end());
    return a;
  }
  std::size_t requests() const { return process.count_lines("request "); }
  PeerProcess process;
};

// Opens pty.a() as weft does (lock file in the pair's dir, TIOCEXCL, flock,
// 19200 8E1), and runs `body` with a master on it, in a service on the
// real clock. Fails (never hangs) if the body is not done within kRunBound.
template <typename Body>
void with_master(const PtyPair& pty, Body body) {
  weft::Runtime rt({.handle_signals = false});
  bool finished = false;
  std::string failure;
  rt.add(weft::coroutine_service("integration", {}, {}, [&](weft::Context& ctx) -> asio::awaitable<void> {
    ctx.ready();
    if (!finished) {  // never run the body twice, should the service be restarted
      finished = true;
      try {
        auto port = weft::serial::open_exclusive({.path = pty.a(), .baud = 19200, .parity = 'E'}, pty.dir());
        if (!port) throw std::runtime_error("open_exclusive: " + port.error().message);
        weft::serial::SerialStream stream(ctx.executor(), std::move(port).value());
        weft::FlightRecorder recorder(64);
        mb::RtuMaster master(stream, ctx.timers(), {19200, 8, 'E', 1}, recorder);
        co_await body(master);
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {  // a failed REQUIRE in the body: Catch2 has recorded it
        failure = "the body stopped at a failed REQUIRE";
      }
      rt.request_stop();
    }
    co_await ctx.sleep(1h);
  }));
  rt.stop_after(kRunBound);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(rt.run() == weft::kExitOk);
  INFO("failure: " << failure);
  CHECK(failure.empty());
  REQUIRE(finished);
  CHECK(std::chrono::steady_clock::now() - started < kRunBound);  // done, not stopped by the bound
}

// The bodies below co_await each transaction in a statement of its own:
// g++ 12 rejects a co_await inside a Catch2 assertion ("array used as
// initializer").
std::string describe(const mb::ParseResult& r) {
  if (const auto* e = std::get_if<mb::Error>(&r)) return "Error: " + e->message();
  return "variant index " + std::to_string(r.index());
}

std::vector<std::uint16_t> registers(const mb::ParseResult& r) {
  INFO(describe(r));
  REQUIRE(std::holds_alternative<mb::RegistersRead>(r));
  return std::get<mb::RegistersRead>(r).registers;
}

std::vector<bool> bits(const mb::ParseResult& r) {
  INFO(describe(r));
  REQUIRE(std::holds_alternative<mb::BitsRead>(r));
  return std::get<mb::BitsRead>(r).bits;
}

mb::WriteEcho echo(const mb::ParseResult& r) {
  INFO(describe(r));
  REQUIRE(std::holds_alternative<mb::WriteEcho>(r));
  return std::get<mb::WriteEcho>(r);
}

mb::Error error(const mb::ParseResult& r) {
  INFO(describe(r));
  REQUIRE(std::holds_alternative<mb::Error>(r));
  return std::get<mb::Error>(r);
}

}  // namespace

TEST_CASE("libmodbus server: function codes 1-4 read what the server holds", "[integration][modbus][libmodbus]") {
  PtyPair pty;
  Server server(pty);
  with_master(pty, [&](mb::RtuMaster& m) -> asio::awaitable<void> {
    const mb::MasterOptions opt{.response_timeout = 1s, .retries = 0};
    std::vector<bool> coils, discrete;
    for (int i = 0; i < 16; ++i) {
      coils.push_back(i % 2 == 0);
      discrete.push_back(i % 3 == 0);
    }
    auto r = co_await m.transact(mb::read_holding_registers(kUnit, 100, 10), opt);
    CHECK(registers(r) == std::vector<std::uint16_t>{1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009});
    r = co_await m.transact(mb::read_holding_registers(kUnit, 107, 1), opt);
    CHECK(registers(r) == std::vector<std::uint16_t>{1007});
    r = co_await m.transact(mb::read_input_registers(kUnit, 0, 10), opt);
    CHECK(registers(r) == std::vector<std::uint16_t>{2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009});
    r = co_await m.transact(mb::read_coils(kUnit, 0, 16), opt);
    CHECK(bits(r) == coils);
    r = co_await m.transact(mb::read_discrete_inputs(kUnit, 0, 16), opt);
    CHECK(bits(r) == discrete);
    // Odd starts and counts: bits start at the LSB, the last byte is padded.
    r = co_await m.transact(mb::read_coils(kUnit, 3, 9), opt);
    CHECK(bits(r) == std::vector<bool>(coils.begin() + 3, coils.begin() + 12));
    r = co_await m.transact(mb::read_discrete_inputs(kUnit, 5, 11), opt);
    CHECK(bits(r) == std::vector<bool>(discrete.begin() + 5, discrete.end()));
    CHECK(m.counters().ok == 7);
    CHECK(m.counters().retries == 0);
  });
  CHECK(server.requests() == 7);
}

TEST_CASE("libmodbus server: function codes 5, 6, 15 and 16 write, and read back", "[integration][modbus][libmodbus]") {
  PtyPair pty;
  Server server(pty);
  with_master(pty, [&](mb::RtuMaster& m) -> asio::awaitable<void> {
    const mb::MasterOptions opt{.response_timeout = 1s, .retries = 0};

    // 5: write single coil (in the server's pattern coil 1 is off, coil 2 on).
    auto r = co_await m.transact(mb::write_single_coil(kUnit, 1, true), opt);
    CHECK(echo(r).address == 1);
    CHECK(echo(r).value == 0xFF00);
    r = co_await m.transact(mb::write_single_coil(kUnit, 2, false), opt);
    CHECK(echo(r).value == 0x0000);
    r = co_await m.transact(mb::read_coils(kUnit, 0, 4), opt);
    CHECK(bits(r) == std::vector<bool>{true, true, false, false});

    // 6: write single register.
    r = co_await m.transact(mb::write_single_register(kUnit, 105, 0xBEEF), opt);
    CHECK(echo(r).address == 105);
    CHECK(echo(r).value == 0xBEEF);
    r = co_await m.transact(mb::read_holding_registers(kUnit, 104, 3), opt);
    CHECK(registers(r) == std::vector<std::uint16_t>{1004, 0xBEEF, 1006});

    // 15: write multiple coils, across a byte boundary.
    const std::vector<bool> pattern{true, true, false, false, true, false, true, true, false, true, true};
    r = co_await m.transact(mb::write_multiple_coils(kUnit, 5, pattern), opt);
    CHECK(echo(r).address == 5);
    CHECK(echo(r).value == pattern.size());
    r = co_await m.transact(mb::read_coils(kUnit, 5, 11), opt);
    CHECK(bits(r) == pattern);

    // 16: write multiple registers, extremes included.
    const std::vector<std::uint16_t> values{0, 1, 0x7FFF, 0x8000, 0xFFFF};
    r = co_await m.transact(mb::write_multiple_registers(kUnit, 102, values), opt);
    CHECK(echo(r).address == 102);
    CHECK(echo(r).value == values.size());
    r = co_await m.transact(mb::read_holding_registers(kUnit, 100, 8), opt);
    CHECK(registers(r) == std::vector<std::uint16_t>{1000, 1001, 0, 1, 0x7FFF, 0x8000, 0xFFFF, 1007});
    CHECK(m.counters().ok == 9);
  });
  CHECK(server.requests() == 9);
}

TEST_CASE("libmodbus server: an unmapped address is exception 2, a typed error, not retried",
          "[integration][modbus][libmodbus]") {
  PtyPair pty;
  Server server(pty);
  with_master(pty, [&](mb::RtuMaster& m) -> asio::awaitable<void> {
    const mb::MasterOptions opt{.response_timeout = 1s, .retries = 3};
    std::vector<mb::Adu> requests;
    requests.push_back(mb::read_holding_registers(kUnit, 200, 1));  // nothing there
    requests.push_back(mb::read_holding_registers(kUnit, 105, 6));  // runs past 109
    requests.push_back(mb::read_input_registers(kUnit, 10, 1));
    requests.push_back(mb::read_coils(kUnit, 16, 1));
    requests.push_back(mb::read_discrete_inputs(kUnit, 15, 2));
    requests.push_back(mb::write_single_register(kUnit, 99, 1));
    requests.push_back(mb::write_single_coil(kUnit, 16, true));
    for (const mb::Adu& request : requests) {
      const auto r = co_await m.transact(request, opt);
      const mb::Error e = error(r);
      CHECK(e.code == mb::errc::exception_response);
      REQUIRE(e.exception.has_value());
      CHECK(*e.exception == mb::ExceptionCode::illegal_data_address);
      CHECK(e.message().find("illegal data address") != std::string::npos);
    }
    CHECK(m.counters().exceptions == 7);
    CHECK(m.counters().retries == 0);  // the device did answer: nothing to retry
    // And the line is in step afterwards.
    const auto r = co_await m.transact(mb::read_holding_registers(kUnit, 109, 1), opt);
    CHECK(registers(r) == std::vector<std::uint16_t>{1009});
  });
  CHECK(server.requests() == 8);  // one per transaction on the wire: no retries
}

TEST_CASE("libmodbus server: a server that stops answering is a timeout after the retries, no hang",
          "[integration][modbus][libmodbus]") {
  PtyPair pty;
  Server server(pty, {"silent-after", "1"});
  std::chrono::steady_clock::duration silent_took{};
  with_master(pty, [&](mb::RtuMaster& m) -> asio::awaitable<void> {
    const mb::MasterOptions opt{.response_timeout = 200ms, .retries = 2};
    auto r = co_await m.transact(mb::read_holding_registers(kUnit, 100, 2), opt);
    CHECK(registers(r) == std::vector<std::uint16_t>{1000, 1001});

    const auto start = std::chrono::steady_clock::now();
    r = co_await m.transact(mb::read_holding_registers(kUnit, 100, 2), opt);
    silent_took = std::chrono::steady_clock::now() - start;
    CHECK(error(r).code == mb::errc::timeout);
    CHECK_FALSE(error(r).exception.has_value());
    CHECK(m.counters().timeouts == 1);
    CHECK(m.counters().retries == 2);

    // A unit that is not on the bus is silence too (libmodbus ignores
    // requests for other units); with no retries, one attempt.
    r = co_await m.transact(mb::read_holding_registers(kAbsentUnit, 100, 1), {.response_timeout = 200ms, .retries = 0});
    CHECK(error(r).code == mb::errc::timeout);
    CHECK(m.counters().timeouts == 2);
    CHECK(m.counters().retries == 2);
  });
  // Three attempts of 200 ms each (plus wire time), and not much more.
  CHECK(silent_took >= 600ms);
  CHECK(silent_took < 2s);
  // 1 answered + 1 attempt + 2 retries reached the server (requests for unit 18 are not counted).
  CHECK(server.requests() == 4);
}
