// The Modbus RTU master: one per bus, strictly one transaction at a time.
// Before each request the line must have been silent for t3.5 (from the line
// settings) since the last byte received, read or discarded; bytes arriving
// meanwhile are noise (counted, recorded) and restart the wait, bounded by
// max_quiet_wait (then errc::line_busy, nothing sent). It waits for the response
// under a timeout on the runtime's clock (virtual in simulation), retries
// line failures (timeout, CRC, truncation, wrong unit) but never an
// exception response (the device did answer), and records every frame in
// the bus's flight recorder. Line failures are values (Error), never
// exceptions; after a garbled frame it waits for silence and drops what is
// buffered, so the stream resynchronises.
#pragma once

#include <cstdint>
#include <span>
#include <source_location>

#include <boost/asio/awaitable.hpp>

#include "weft/core/timer_queue.hpp"
#include "weft/drivers/byte_stream.hpp"
#include "weft/drivers/flight_recorder.hpp"
#include "weft/drivers/modbus/pdu.hpp"
#include "weft/drivers/modbus/response.hpp"
#include "weft/drivers/modbus/timing.hpp"

namespace weft::modbus {

struct MasterOptions {
  Duration response_timeout = std::chrono::milliseconds(500);  // after the request is on the wire
  int retries = 1;                                // further attempts after a line failure
  Duration pause_between_requests = Duration::zero();  // device quirk: extra quiet time
  // Watch the line before a request: read and drop what arrives until it has
  // been quiet for t3.5 (+ pause). false (a quirk): only the time since the
  // master's own last activity counts, and unread input is left in place.
  bool flush_before_request = true;
  Duration max_quiet_wait = std::chrono::seconds(1);  // still busy after this: errc::line_busy, not retried
};

struct MasterCounters {
  std::uint64_t transactions = 0;
  std::uint64_t ok = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t crc_errors = 0;
  std::uint64_t exceptions = 0;
  std::uint64_t other_errors = 0;  // wrong unit/function, truncated, malformed, echo, stream errors
  std::uint64_t line_busy = 0;     // transactions given up because the line never went quiet
  std::uint64_t retries = 0;
  std::uint64_t noise_bytes = 0;   // skipped around answers or drained while waiting for quiet
};

class RtuMaster {
public:
  RtuMaster(ByteStream& stream, TimerQueue& timers, LineSettings line, FlightRecorder& recorder);

  // One transaction (with retries). The result is never NeedMore. A stream
  // error (EIO: the adapter vanished) comes back as an Error carrying that
  // code, for the owner to reopen the port. Cancel-safe between frames: a
  // cancelled transaction leaves the line to resynchronise on the next one.
  boost::asio::awaitable<ParseResult> transact(const Adu& request, const MasterOptions& options,
                                               std::source_location loc = std::source_location::current());

  // Call after the stream was replaced or reopened. Nothing is known of the
  // line before then, so the next request listens for t3.5 first, as after
  // construction: a slave still answering someone else is not talked over.
  void reset_line() noexcept { last_activity_ = timers_.clock().now(); }

  const MasterCounters& counters() const noexcept { return counters_; }
  const LineSettings& line() const noexcept { return line_; }

private:
  boost::asio::awaitable<ParseResult> attempt(const Adu& request, const MasterOptions& options);
  struct LineState {
    enum { quiet, busy, failed } state = quiet;
    boost::system::error_code error;  // failed: the stream's error
  };
  boost::asio::awaitable<LineState> wait_for_quiet_line(Duration quiet, Duration bound);
  boost::asio::awaitable<void> wait_for_silence(Duration extra);
  boost::asio::awaitable<void> resynchronise(const MasterOptions& options);
  void record_noise(std::span<const std::uint8_t> bytes);
  void count(const ParseResult& result);

  ByteStream& stream_;
  TimerQueue& timers_;
  LineSettings line_;
  FlightRecorder& recorder_;
  MonoTime last_activity_;  // when the line was last busy (our tx end or the last rx byte; construction)
  MasterCounters counters_;
};

// True for failures worth another attempt (the line, not the device).
bool is_retryable(const Error& error) noexcept;

}  // namespace weft::modbus
