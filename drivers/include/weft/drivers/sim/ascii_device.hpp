// A simulated ASCII line instrument: it writes the same bytes a real one
// would — key=value pairs, CSV columns or NMEA 0183 sentences with correct
// checksums — from the value models of value_model.hpp, either streaming a
// reading every period or answering each request line. Seeded faults at
// configured rates per reading: silence, garbage (non-UTF-8 bytes among
// them), a truncated line that runs into the next, an over-long line, a
// wrong NMEA checksum, and a disconnect. Deterministic for a given seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/core/timer_queue.hpp"
#include "weft/drivers/ascii/field_value.hpp"
#include "weft/drivers/ascii/parse_spec.hpp"
#include "weft/drivers/byte_stream.hpp"
#include "weft/drivers/sim/value_model.hpp"

namespace weft::sim {

// One value the instrument sends, where its parse spec expects it.
struct AsciiSimField {
  std::string key;       // key_value: the key as sent ("T")
  std::string sentence;  // nmea: address ("GPGGA") or formatter ("GGA": sent as "GP" + it)
  std::size_t index = 0; // csv: column (0-based); nmea: field (1-based)
  ascii::FieldType type = ascii::FieldType::number;  // integer: sent rounded, without a point
  ValueModel model;
};

struct AsciiFormat {
  ascii::ParseSpec::Kind kind = ascii::ParseSpec::Kind::key_value;
  std::vector<AsciiSimField> fields;
  char pair_separator = ' ';  // key_value
  char kv_separator = '=';    // key_value
  char delimiter = ',';       // csv
  std::string terminator = "\r\n";
};

struct AsciiFaults {  // probability per reading, each in [0, 1]
  double no_answer = 0;     // the reading is not sent: the reader hears silence
  double garbage = 0;       // random bytes (non-UTF-8 and control bytes among them), terminated
  double truncated = 0;     // cut short, terminator lost: it runs into the next line
  double overlong = 0;      // padded past max_line, terminated
  double bad_checksum = 0;  // nmea: a checksum that does not match
  double disconnect = 0;    // the device drops off the line: serve() returns
};

struct AsciiDeviceSpec {
  AsciiFormat format;
  AsciiFaults faults;
  Duration period = std::chrono::seconds(1);  // streaming: one reading per period
  std::string request;                        // non-empty: answer each request instead of streaming
  Duration response_delay = Duration::zero(); // before an answer (polled)
  std::size_t max_line = 256;                 // what the overlong fault exceeds
};

struct AsciiSimCounters {
  std::uint64_t readings = 0;  // readings formatted (sent or faulted)
  std::uint64_t requests = 0;  // request lines heard (polled)
  std::uint64_t faults_injected = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t dropped_writes = 0;  // not written within a period (nobody reading a pty)
};

class AsciiDevice {
public:
  AsciiDevice(AsciiDeviceSpec spec, std::uint64_t seed);

  // Streams (or answers requests) until the stream reports an error, a
  // disconnect fault fires (the caller then closes the stream, as an
  // unplugged adapter would), or the coroutine is cancelled. A write that
  // does not finish within a period is given up: a line has no buffer.
  boost::asio::awaitable<void> serve(ByteStream& stream, TimerQueue& timers);

  // One reading at `now` as bytes on the wire, faults applied; empty for
  // silence. Sets disconnecting() when a disconnect fault fires.
  std::string emit(MonoTime now);
  // One reading at `now`, every line terminated, no faults (for tests).
  std::string format(MonoTime now);
  bool disconnecting() const noexcept { return disconnecting_; }

  const AsciiDeviceSpec& spec() const noexcept { return spec_; }
  const AsciiSimCounters& counters() const noexcept { return counters_; }

private:
  std::vector<std::string> lines(MonoTime now);  // unterminated
  std::string garbage();
  boost::asio::awaitable<bool> write(ByteStream& stream, TimerQueue& timers, const std::string& bytes);
  boost::asio::awaitable<void> stream_readings(ByteStream& stream, TimerQueue& timers);
  boost::asio::awaitable<void> answer_requests(ByteStream& stream, TimerQueue& timers);

  AsciiDeviceSpec spec_;
  std::vector<ValueSource> sources_;  // per field
  std::mt19937_64 rng_;
  bool disconnecting_ = false;
  AsciiSimCounters counters_;
};

// "4807.038": a value as an instrument prints it (at most 4 decimals,
// trailing zeros dropped; integers without a point).
std::string format_sim_value(double value, ascii::FieldType type);

}  // namespace weft::sim
