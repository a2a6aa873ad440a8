// Simulated Modbus RTU devices on one bus: they read request frames from a
// ByteStream (a pipe in --simulate, a pty in weft-devsim) and answer with
// the same bytes a real device would — register values from value models,
// exception 2 for unmapped addresses, writes stored and echoed — plus
// configured faults (no answer, bad CRC, exception, garbage, glitch bytes
// before an answer) at seeded
// rates and a response delay. Units not on the bus stay silent, as on a
// real line. Frames with a bad CRC are ignored, as devices do.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/core/timer_queue.hpp"
#include "weft/drivers/byte_stream.hpp"
#include "weft/drivers/modbus/registers.hpp"
#include "weft/drivers/modbus/timing.hpp"
#include "weft/drivers/sim/value_model.hpp"

namespace weft::sim {

enum class Table : std::uint8_t { coil, discrete_input, holding, input };

struct SimPoint {
  Table table = Table::holding;
  std::uint16_t address = 0;
  modbus::RegisterType type = modbus::RegisterType::uint16;
  modbus::WordOrder order = modbus::WordOrder::abcd;
  double scale = 1;   // the device stores (value - offset) / scale
  double offset = 0;
  ValueModel model;
};

struct SimFaults {  // probability per request, each in [0, 1]
  double no_answer = 0;
  double bad_crc = 0;
  double exception = 0;  // answers exception 4 (server device failure)
  double garbage = 0;
  double disconnect = 0;  // the device drops off the line: serve() returns, its owner closes the stream
  double noise = 0;       // 1 to 3 glitch bytes (0x00/0xFF, an RS-485 turnaround) before an answer
};

struct SimUnit {
  std::uint8_t unit = 1;
  std::vector<SimPoint> points;
  SimFaults faults;
  Duration response_delay = Duration::zero();
};

struct SimCounters {
  std::uint64_t requests = 0;
  std::uint64_t answered = 0;
  std::uint64_t exceptions = 0;
  std::uint64_t faults_injected = 0;
  std::uint64_t bad_frames = 0;  // bad CRC or unparseable: ignored
  std::uint64_t disconnects = 0;
};

class SimBus {
public:
  // `wire_time`: delay each answer by the request's wire time, t3.5 and the
  // answer's wire time at `line` speed, so a pty behaves like a real line
  // (benchmarks).
  SimBus(std::vector<SimUnit> units, modbus::LineSettings line, std::uint64_t seed, bool wire_time = false);
  ~SimBus();

  // Serves until the stream reports an error (EOF: the peer went), a
  // disconnect fault fires (the caller should then close the stream, as an
  // unplugged adapter would), or the coroutine is cancelled.
  boost::asio::awaitable<void> serve(ByteStream& stream, TimerQueue& timers);

  // Answer to one complete request frame at time `now`, or empty for
  // silence. Exposed for tests.
  std::vector<std::uint8_t> answer(std::span<const std::uint8_t> request, MonoTime now);

  const SimCounters& counters() const noexcept { return counters_; }

private:
  struct Unit;
  std::vector<std::uint8_t> respond(Unit& u, std::span<const std::uint8_t> request, MonoTime now);
  void add_glitch(const Unit& u, std::vector<std::uint8_t>& answer);
  void refresh(Unit& u, MonoTime now);

  std::vector<std::unique_ptr<Unit>> units_;
  modbus::LineSettings line_;
  bool wire_time_;
  bool disconnecting_ = false;  // a disconnect fault fired: serve() returns
  std::mt19937_64 rng_;
  SimCounters counters_;
};

// Length of the request frame starting at `bytes[0]`, 0 if more bytes are
// needed to tell, or nullopt if it cannot be a request we understand.
std::optional<std::size_t> request_frame_length(std::span<const std::uint8_t> bytes);

}  // namespace weft::sim
