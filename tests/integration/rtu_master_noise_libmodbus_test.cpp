// A misbehaving line against a real server: weft's RtuMaster on one socat
// pty pair, libmodbus's RTU server (tests/peers/modbus_rtu_server.c) on
// another, and noise_relay.py between them putting noise in front of every
// answer (one 0x00, three bytes, or a fake frame start with a bad CRC).
// Every poll succeeds, and each noise byte is counted by the master and by
// the flight recorder. Real clock, bounded by stop_after.
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

#if !defined(WEFT_MODBUS_RTU_SERVER) || !defined(WEFT_NOISE_RELAY)
#error "WEFT_MODBUS_RTU_SERVER and WEFT_NOISE_RELAY (paths of the peers) must be defined by the build"
#endif

namespace asio = boost::asio;
namespace mb = weft::modbus;
using namespace std::chrono_literals;
using weft::test::PeerProcess;
using weft::test::PtyPair;

namespace {

constexpr std::uint8_t kNoiseUnit = 17;
constexpr int kPolls = 5;

struct NoisyLine {
  explicit NoisyLine(const std::string& mode)
      : server({WEFT_MODBUS_RTU_SERVER, server_side.b(), "19200", "E", std::to_string(kNoiseUnit), "normal"},
               server_side.dir() + "/server.log"),
        relay({"/usr/bin/python3", WEFT_NOISE_RELAY, master_side.b(), server_side.a(), mode, std::to_string(kNoiseUnit)},
              master_side.dir() + "/relay.log") {
    const bool up = server.wait_for_output("ready", 5s) && relay.wait_for_output("ready", 5s);
    INFO("server:\n" << server.output() << "\nrelay:\n" << relay.output());
    REQUIRE(up);
  }
  PtyPair master_side, server_side;
  PeerProcess server, relay;
};

struct Outcome {
  int ok = 0;
  std::string failure;
  mb::MasterCounters counters;
  std::uint64_t recorded_noise = 0;
};

Outcome poll_through(const NoisyLine& line) {
  Outcome out;
  weft::Runtime rt({.handle_signals = false});
  bool started = false;
  rt.add(weft::coroutine_service("integration", {}, {}, [&](weft::Context& ctx) -> asio::awaitable<void> {
    ctx.ready();
    if (!started) {
      started = true;
      try {
        auto port = weft::serial::open_exclusive({.path = line.master_side.a(), .baud = 19200, .parity = 'E'},
                                                 line.master_side.dir());
        if (!port) throw std::runtime_error("open_exclusive: " + port.error().message);
        weft::serial::SerialStream stream(ctx.executor(), std::move(port).value());
        weft::FlightRecorder recorder(64);
        mb::RtuMaster master(stream, ctx.timers(), {19200, 8, 'E', 1}, recorder);
        const mb::MasterOptions options{.response_timeout = 1s, .retries = 0};
        for (int i = 0; i < kPolls; ++i) {
          auto r = co_await master.transact(mb::read_holding_registers(kNoiseUnit, 100, 10), options);
          if (const auto* read = std::get_if<mb::RegistersRead>(&r); read && read->registers.front() == 1000 &&
                                                                     read->registers.back() == 1009)
            ++out.ok;
          else if (const auto* e = std::get_if<mb::Error>(&r))
            out.failure += "poll " + std::to_string(i) + ": " + e->message() + "\n" + recorder.format(weft::MonoTime{});
        }
        out.counters = master.counters();
        out.recorded_noise = recorder.noise_bytes();
      } catch (const std::exception& e) {
        out.failure = e.what();
      }
      rt.request_stop();
    }
    co_await ctx.sleep(1h);
  }));
  rt.stop_after(30s);
  REQUIRE(rt.run() == weft::kExitOk);
  return out;
}

}  // namespace

TEST_CASE("noisy line: noise before every libmodbus answer is skipped and counted", "[integration][modbus][noise]") {
  for (const auto& [mode, bytes] : {std::pair<std::string, int>{"zero", 1}, {"several", 3}, {"fake-start", 5}}) {
    NoisyLine line(mode);
    const Outcome out = poll_through(line);
    INFO("mode " << mode << "\n" << out.failure << "relay:\n" << line.relay.output());
    CHECK(out.failure.empty());
    CHECK(out.ok == kPolls);
    CHECK(line.relay.count_lines("noise ") == static_cast<std::size_t>(kPolls));
    CHECK(out.counters.noise_bytes == static_cast<std::uint64_t>(kPolls * bytes));
    CHECK(out.recorded_noise == out.counters.noise_bytes);
    CHECK(out.counters.retries == 0);
  }
}
