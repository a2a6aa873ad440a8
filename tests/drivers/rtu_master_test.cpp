// The RTU master against simulated devices over an in-memory pipe, on the
// virtual clock: reads and writes round-trip; an exception response is a
// typed error and is not retried; silence is a timeout after the configured
// retries; a bad CRC or garbage is counted, and the next transaction
// succeeds (the stream resynchronises); noise bytes around an answer are
// skipped and counted; before a request the line must have been quiet for
// t3.5 after the last byte a talking slave sent, or the transaction fails as
// line busy without sending. Real peers: tests/integration.
#include "weft/drivers/modbus/rtu_master.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/drivers/modbus/describe.hpp"
#include "weft/drivers/modbus/crc.hpp"
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

namespace {

// A hand-written device on the other end of a pipe, on the virtual clock
// (a PipeEnd, so it can see whether input is waiting):
// `device(ctx, end)` is given the device end. Runs `body(master, recorder, ctx)`
// raced against the device, with the same line as with_master.
template <typename Device, typename Body>
void with_device(Device device, Body body) {
  weft::Runtime rt({.virtual_time = true, .handle_signals = false});
  bool finished = false;
  rt.add(weft::coroutine_service("test", {}, {}, [&](weft::Context& ctx) -> asio::awaitable<void> {
    ctx.ready();
    auto [master_end, device_end] = weft::make_pipe(ctx.executor());
    weft::FlightRecorder recorder(64);
    const mb::LineSettings line{19200, 8, 'E', 1};
    mb::RtuMaster master(*master_end, ctx.timers(), line, recorder);
    co_await (device(ctx, *device_end) || body(master, recorder, ctx));
    finished = true;
    co_await ctx.sleep(1h);
  }));
  rt.stop_after(10min);
  REQUIRE(rt.run() == weft::kExitOk);
  REQUIRE(finished);
}

// Unit 3's answer to read_holding_registers(3, 100, 2): {500, 501}.
std::vector<std::uint8_t> answer_500_501() {
  std::vector<std::uint8_t> frame{3, 0x03, 4, 0x01, 0xF4, 0x01, 0xF5};
  mb::append_crc(frame);
  return frame;
}

// Reads one 8-byte request from `end` (bounded by the caller's race).
asio::awaitable<void> read_request(weft::ByteStream& end) {
  std::array<std::uint8_t, 8> request{};
  co_await asio::async_read(end, asio::buffer(request), asio::use_awaitable);
}

// `bytes` must outlive the write: callers pass named locals (a temporary
// inside a co_await expression is what GCC 12 can destroy twice).
asio::awaitable<void> write_bytes(weft::ByteStream& end, const std::vector<std::uint8_t>& bytes) {
  co_await asio::async_write(end, asio::buffer(bytes), asio::use_awaitable);
}

}  // namespace

TEST_CASE("a noise byte before every answer: each poll succeeds and the noise is counted", "[modbus][master][noise]") {
  auto device = [](weft::Context&, weft::ByteStream& end) -> asio::awaitable<void> {
    for (;;) {
      co_await read_request(end);
      std::vector<std::uint8_t> noisy{0x00};
      const auto answer = answer_500_501();
      noisy.insert(noisy.end(), answer.begin(), answer.end());
      co_await write_bytes(end, noisy);
    }
  };
  with_device(device, [](mb::RtuMaster& m, weft::FlightRecorder& rec, weft::Context&) -> asio::awaitable<void> {
    mb::MasterOptions options;
    options.retries = 0;
    for (int i = 0; i < 10; ++i) {
      auto r = co_await m.transact(mb::read_holding_registers(3, 100, 2), options);
      REQUIRE(std::holds_alternative<mb::RegistersRead>(r));
      CHECK(std::get<mb::RegistersRead>(r).registers == std::vector<std::uint16_t>{500, 501});
    }
    CHECK(m.counters().ok == 10);
    CHECK(m.counters().noise_bytes == 10);
    CHECK(rec.noise_bytes() == 10);
    CHECK(rec.noise_frames() == 10);  // one skipped run in front of each answer
    CHECK_THAT(rec.format(weft::MonoTime{}), Catch::Contains("rx 00  noise"));
  });
}

TEST_CASE("a glitch byte right after the request, the answer much later: the master waits for it", "[modbus][master][noise]") {
  auto device = [](weft::Context& ctx, weft::ByteStream& end) -> asio::awaitable<void> {
    const std::vector<std::uint8_t> glitch{0xFF}, answer = answer_500_501();
    co_await read_request(end);
    co_await write_bytes(end, glitch);  // line turnaround
    co_await ctx.sleep(100ms);          // the device takes its time (response_timeout is 500 ms)
    co_await write_bytes(end, answer);
    co_await ctx.sleep(1h);
  };
  with_device(device, [](mb::RtuMaster& m, weft::FlightRecorder&, weft::Context&) -> asio::awaitable<void> {
    auto r = co_await m.transact(mb::read_holding_registers(3, 100, 2), {.retries = 0});
    REQUIRE(std::holds_alternative<mb::RegistersRead>(r));
    CHECK(m.counters().noise_bytes == 1);
  });
}

TEST_CASE("a slave that keeps talking: the request waits until the line has been quiet for t3.5", "[modbus][master][quiet]") {
  // Virtual clock: the talker's bytes and the request's arrival are stamped exactly.
  std::vector<weft::MonoTime> talk, request_at;
  const mb::LineSettings line{19200, 8, 'E', 1};
  auto device = [&](weft::Context& ctx, weft::PipeEnd& end) -> asio::awaitable<void> {
    const std::vector<std::uint8_t> byte{0x55}, answer = answer_500_501();
    for (int i = 0; i < 100; ++i) {  // 100 bytes, 1 ms apart (a garbled long frame), then silence
      if (end.available() > 0 && request_at.empty()) request_at.push_back(ctx.clock().now());  // sent into our talk
      co_await write_bytes(end, byte);
      talk.push_back(ctx.clock().now());
      co_await ctx.sleep(1ms);
    }
    co_await read_request(end);
    if (request_at.empty()) request_at.push_back(ctx.clock().now());
    co_await write_bytes(end, answer);
    co_await ctx.sleep(1h);
  };
  with_device(device, [&](mb::RtuMaster& m, weft::FlightRecorder& rec, weft::Context& ctx) -> asio::awaitable<void> {
    co_await ctx.sleep(10ms);  // the talk has begun
    auto r = co_await m.transact(mb::read_holding_registers(3, 100, 2), {.retries = 0});
    REQUIRE(request_at.size() == 1);
    CHECK(request_at[0] >= talk.back() + line.t3_5());  // never into incoming bytes
    REQUIRE(std::holds_alternative<mb::RegistersRead>(r));
    CHECK(m.counters().noise_bytes >= 90);              // what was drained while waiting
    CHECK(rec.noise_bytes() == m.counters().noise_bytes);
  });
}

TEST_CASE("a slave that never stops talking: line busy after max_quiet_wait, nothing sent", "[modbus][master][quiet]") {
  std::size_t requests_seen = 0;
  auto device = [&](weft::Context& ctx, weft::ByteStream& end) -> asio::awaitable<void> {
    auto listen = [&]() -> asio::awaitable<void> {
      std::array<std::uint8_t, 64> buf{};
      for (;;) requests_seen += co_await end.async_read_some(asio::buffer(buf), asio::use_awaitable);
    };
    auto babble = [&]() -> asio::awaitable<void> {
      const std::vector<std::uint8_t> byte{0x55};
      for (;;) {
        co_await write_bytes(end, byte);
        co_await ctx.sleep(1ms);
      }
    };
    co_await (listen() || babble());
  };
  with_device(device, [&](mb::RtuMaster& m, weft::FlightRecorder&, weft::Context&) -> asio::awaitable<void> {
    mb::MasterOptions options;
    options.retries = 3;
    options.max_quiet_wait = 300ms;
    auto r = co_await m.transact(mb::read_holding_registers(3, 100, 2), options);
    REQUIRE(std::holds_alternative<mb::Error>(r));
    CHECK(std::get<mb::Error>(r).code == mb::errc::line_busy);
    CHECK(m.counters().line_busy == 1);
    CHECK(m.counters().retries == 0);  // a busy line is not retried at once
    CHECK(requests_seen == 0);
    CHECK(m.counters().noise_bytes >= 250);
  });
}

TEST_CASE("a port just opened: the first request still listens for t3.5, so a slave that starts talking is not talked over", "[modbus][master][quiet]") {
  // The slave starts answering someone else 1 ms after the port opened, inside
  // t3.5 (2.005 ms at 19200 baud): nothing was buffered when the request was due.
  std::vector<weft::MonoTime> talk, request_at;
  const mb::LineSettings line{19200, 8, 'E', 1};
  auto device = [&](weft::Context& ctx, weft::PipeEnd& end) -> asio::awaitable<void> {
    const std::vector<std::uint8_t> byte{0x55}, answer = answer_500_501();
    co_await ctx.sleep(1ms);
    for (int i = 0; i < 20; ++i) {
      if (end.available() > 0 && request_at.empty()) request_at.push_back(ctx.clock().now());  // sent into our talk
      co_await write_bytes(end, byte);
      talk.push_back(ctx.clock().now());
      co_await ctx.sleep(1ms);
    }
    co_await read_request(end);
    if (request_at.empty()) request_at.push_back(ctx.clock().now());
    co_await write_bytes(end, answer);
    co_await ctx.sleep(1h);
  };
  with_device(device, [&](mb::RtuMaster& m, weft::FlightRecorder&, weft::Context&) -> asio::awaitable<void> {
    auto r = co_await m.transact(mb::read_holding_registers(3, 100, 2), {.retries = 0});
    REQUIRE(request_at.size() == 1);
    REQUIRE(talk.size() == 20);
    CHECK(request_at[0] >= talk.back() + line.t3_5());
    REQUIRE(std::holds_alternative<mb::RegistersRead>(r));
    CHECK(m.counters().noise_bytes == 20);
  });
}
