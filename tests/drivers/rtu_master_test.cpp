// The RTU master against simulated devices over an in-memory pipe, on the
// virtual clock: reads and writes round-trip; an exception response is a
// typed error and is not retried; silence is a timeout after the configured
// retries; a bad CRC or garbage is counted, and the next transaction
// succeeds (the stream resynchronises). Real peers: tests/integration.
#include "weft/drivers/modbus/rtu_master.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/drivers/modbus/describe.hpp"
#include "weft/drivers/pipe_stream.hpp"
#include "weft/drivers/sim/modbus_device.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
namespace mb = weft::modbus;

namespace {

weft::sim::SimUnit unit_with_registers(std::uint8_t unit) {
  weft::sim::SimUnit u;
  u.unit = unit;
  for (std::uint16_t a = 0; a < 4; ++a) {
    weft::sim::SimPoint p;
    p.table = weft::sim::Table::holding;
    p.address = static_cast<std::uint16_t>(100 + a);
    p.model = {weft::sim::ValueModel::Kind::constant, 10.0 + a};
    u.points.push_back(p);
  }
  weft::sim::SimPoint coil;
  coil.table = weft::sim::Table::coil;
  coil.address = 7;
  coil.model = {weft::sim::ValueModel::Kind::constant, 1.0};
  u.points.push_back(coil);
  return u;
}

// Runs `body(master, sim)` in a service on the virtual clock with a
// simulated bus serving the other end of a pipe.
template <typename Body>
void with_master(std::vector<weft::sim::SimUnit> units, Body body) {
  weft::Runtime rt({.virtual_time = true, .handle_signals = false});
  bool finished = false;
  rt.add(weft::coroutine_service("test", {}, {}, [&](weft::Context& ctx) -> asio::awaitable<void> {
    ctx.ready();
    auto [master_end, device_end] = weft::make_pipe(ctx.executor());
    weft::FlightRecorder recorder(16);
    const mb::LineSettings line{19200, 8, 'E', 1};
    weft::sim::SimBus sim(units, line, 42);
    mb::RtuMaster master(*master_end, ctx.timers(), line, recorder);
    co_await (sim.serve(*device_end, ctx.timers()) || body(master, sim, recorder));
    finished = true;
    co_await ctx.sleep(1h);
  }));
  rt.stop_after(10min);
  REQUIRE(rt.run() == weft::kExitOk);
  REQUIRE(finished);
}

}  // namespace

TEST_CASE("master reads registers and coils and writes them back through a simulated device", "[modbus][master]") {
  with_master({unit_with_registers(3)}, [](mb::RtuMaster& m, weft::sim::SimBus&, weft::FlightRecorder& rec)
                                            -> asio::awaitable<void> {
    auto r = co_await m.transact(mb::read_holding_registers(3, 100, 4), {});
    REQUIRE(std::holds_alternative<mb::RegistersRead>(r));
    CHECK(std::get<mb::RegistersRead>(r).registers == std::vector<std::uint16_t>{10, 11, 12, 13});

    auto c = co_await m.transact(mb::read_coils(3, 7, 1), {});
    REQUIRE(std::holds_alternative<mb::BitsRead>(c));
    CHECK(std::get<mb::BitsRead>(c).bits == std::vector<bool>{true});

    const std::uint16_t values[] = {500, 501};
    auto w = co_await m.transact(mb::write_multiple_registers(3, 100, values), {});
    CHECK(std::holds_alternative<mb::WriteEcho>(w));
    auto w1 = co_await m.transact(mb::write_single_register(3, 103, 7), {});
    CHECK(std::holds_alternative<mb::WriteEcho>(w1));
    CHECK(m.counters().ok == 4);
    CHECK(rec.total() == 8);  // 4 requests, 4 responses
  });
}

TEST_CASE("an exception response is a typed error naming unit, function and register, not retried", "[modbus][master]") {
  with_master({unit_with_registers(3)}, [](mb::RtuMaster& m, weft::sim::SimBus& sim, weft::FlightRecorder&)
                                            -> asio::awaitable<void> {
    mb::MasterOptions options;
    options.retries = 3;
    auto r = co_await m.transact(mb::read_holding_registers(3, 200, 2), options);
    REQUIRE(std::holds_alternative<mb::Error>(r));
    const auto& e = std::get<mb::Error>(r);
    CHECK(e.exception == mb::ExceptionCode::illegal_data_address);
    const std::string text = mb::describe(mb::inspect_request(mb::read_holding_registers(3, 200, 2)), e);
    CHECK_THAT(text, Catch::Contains("unit 3") && Catch::Contains("200"));
    CHECK(sim.counters().requests == 1);  // no retry of a device's answer
    CHECK(m.counters().exceptions == 1);
  });
}

TEST_CASE("a silent unit times out after the configured retries", "[modbus][master]") {
  with_master({unit_with_registers(3)}, [](mb::RtuMaster& m, weft::sim::SimBus&, weft::FlightRecorder& rec)
                                            -> asio::awaitable<void> {
    mb::MasterOptions options;
    options.retries = 2;
    options.response_timeout = 100ms;
    auto r = co_await m.transact(mb::read_holding_registers(9, 100, 1), options);  // nobody is unit 9
    REQUIRE(std::holds_alternative<mb::Error>(r));
    CHECK(std::get<mb::Error>(r).code == mb::errc::timeout);
    CHECK(m.counters().retries == 2);
    CHECK(m.counters().timeouts == 1);
    CHECK_THAT(rec.format(weft::MonoTime{}), Catch::Contains("timeout"));
  });
}

TEST_CASE("bad CRCs and garbage are counted and the next transaction succeeds", "[modbus][master]") {
  auto noisy = unit_with_registers(4);
  noisy.faults.bad_crc = 0.3;
  noisy.faults.garbage = 0.3;
  with_master({noisy, unit_with_registers(5)}, [](mb::RtuMaster& m, weft::sim::SimBus& sim, weft::FlightRecorder&)
                                                   -> asio::awaitable<void> {
    mb::MasterOptions options;
    options.retries = 0;
    int noisy_errors = 0;
    for (int i = 0; i < 200; ++i) {
      auto r = co_await m.transact(mb::read_holding_registers(4, 100, 2), options);
      if (std::holds_alternative<mb::Error>(r)) ++noisy_errors;
      // The clean unit on the same bus answers every time: no desynchronisation.
      auto clean = co_await m.transact(mb::read_holding_registers(5, 100, 2), options);
      REQUIRE(std::holds_alternative<mb::RegistersRead>(clean));
    }
    CHECK(noisy_errors > 50);
    CHECK(noisy_errors == static_cast<int>(sim.counters().faults_injected));
    CHECK(m.counters().crc_errors + m.counters().other_errors + m.counters().timeouts ==
          static_cast<std::uint64_t>(noisy_errors));
  });
}
