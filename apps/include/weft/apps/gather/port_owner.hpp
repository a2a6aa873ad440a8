// PortOwner: what every owner of one serial port shares, whatever the
// protocol on it. It opens the port through its binding (reopening with
// backoff when the adapter vanishes, one log line per state change), hands
// the open stream to serve() until that stream fails, and starts over.
// BusPoller (Modbus RTU) and AsciiReader (line instruments) are its kinds;
// gather owns them all the same way, and reports their counters. Each
// keeps the port's flight recorder (the last frames or lines on the wire,
// for the console's `frames`, dumps and crash reports).
//
//   closed ──open──► open ──serve() returns (stream error)──► absent/failed
//     │                ▲                                          │
//     └──open fails──► absent/failed ──backoff, open again────────┘
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/apps/gather/gather_config.hpp"
#include "weft/apps/gather/port_binding.hpp"
#include "weft/core/context.hpp"
#include "weft/drivers/flight_recorder.hpp"
#include "weft/drivers/serial/reconnect_policy.hpp"

namespace weft::apps {

// Per instrument. For an ASCII instrument the Modbus names read as:
// polls = lines received, good_polls = good lines, timeouts = stale
// episodes, crc_errors = bad NMEA checksums, other_errors = other bad lines
// (parse errors, over-long) and stream errors, missed = request periods
// skipped.
struct InstrumentCounters {
  std::uint64_t polls = 0;
  std::uint64_t good_polls = 0;
  std::uint64_t readings = 0;      // published, any quality
  std::uint64_t timeouts = 0;
  std::uint64_t crc_errors = 0;
  std::uint64_t exceptions = 0;
  std::uint64_t other_errors = 0;
  std::uint64_t line_busy = 0;     // Modbus: the line never went quiet within max_quiet_wait, nothing sent
  std::uint64_t missed = 0;        // periods skipped because the bus was behind
  std::uint64_t quarantines = 0;
  // ASCII line instruments only:
  std::uint64_t bad_lines = 0;     // parse errors, bad checksums and over-long lines
  std::uint64_t overlong = 0;      // of which: longer than max_line
  std::uint64_t ignored = 0;       // NMEA sentences no point asks for
  std::uint64_t requests = 0;      // request lines sent (polled instruments)
  std::optional<MonoTime> last_good;
  std::string last_error;
};

class PortOwner {
public:
  PortOwner(Context& ctx, const PortConfig& port, std::unique_ptr<PortBinding> binding);
  virtual ~PortOwner();
  PortOwner(const PortOwner&) = delete;
  PortOwner& operator=(const PortOwner&) = delete;

  // Runs until cancelled. `on_first_attempt` is called once, after the first
  // open attempt (success or absent): gather is ready when every port did.
  boost::asio::awaitable<void> run(std::function<void()> on_first_attempt);

  const std::string& port_name() const noexcept { return port_.name; }
  virtual std::vector<std::pair<std::string, InstrumentCounters>> counters() const = 0;
  const FlightRecorder& recorder() const noexcept { return recorder_; }
  // The recorded frames are text lines (shown escaped), not binary frames (shown in hex).
  virtual bool frames_are_lines() const noexcept { return false; }

  static constexpr std::size_t kRecordedFrames = 64;

protected:
  // A good exchange on the open port (an answer, a line): resets the
  // reopen back-off, which an open alone does not.
  void port_works() noexcept { reconnect_.on_io_ok(); }
  // Talks to the instruments over the open stream; returns once the stream
  // failed and report_io_error() was called. A cancellation propagates.
  virtual boost::asio::awaitable<void> serve(ByteStream& stream) = 0;
  // An open attempt failed (`reason`); `state_changed` is true for the
  // first failure of an episode (and for a different kind of failure).
  virtual void on_open_failed(const std::string& reason, bool state_changed) = 0;
  // A read or write on the open port failed (not a cancellation): logs the
  // state change, if it is one.
  void report_io_error(boost::system::error_code error);

  Context& ctx_;
  const PortConfig& port_;
  FlightRecorder recorder_{kRecordedFrames};  // fixed size: recording never allocates

private:
  crash::RingHandle crash_ring_;  // "serial PORT" in crash reports; after recorder_, so released first
  boost::asio::awaitable<std::unique_ptr<ByteStream>> open_port(std::function<void()>& on_first_attempt);

  std::unique_ptr<PortBinding> binding_;
  serial::ReconnectPolicy reconnect_;
};

}  // namespace weft::apps
