// The Modbus RTU master: one per bus, strictly one transaction at a time.
// It keeps the line's inter-frame silence (t3.5 from the line settings),
// optionally drops stale input before each request, waits for the response
// under a timeout on the runtime's clock (virtual in simulation), retries
// line failures (timeout, CRC, truncation, wrong unit) but never an
// exception response (the device did answer), and records every frame in
// the bus's flight recorder. Line failures are values (Error), never
// exceptions; after a garbled frame it waits for silence and drops what is
// buffered, so the stream resynchronises.
#pragma once

#include <cstdint>
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
  bool flush_before_request = true;               // device quirk: drop stale input first
};

struct MasterCounters {
  std::uint64_t transactions = 0;
  std::uint64_t ok = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t crc_errors = 0;
  std::uint64_t exceptions = 0;
  std::uint64_t other_errors = 0;  // wrong unit/function, truncated, malformed, echo, stream errors
  std::uint64_t retries = 0;
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

  // Call after the stream was replaced or reopened.
  void reset_line() noexcept { last_activity_ = MonoTime{}; }

  const MasterCounters& counters() const noexcept { return counters_; }
  const LineSettings& line() const noexcept { return line_; }

private:
  boost::asio::awaitable<ParseResult> attempt(const Adu& request, const MasterOptions& options);
  boost::asio::awaitable<void> wait_for_silence(Duration extra);
  boost::asio::awaitable<void> resynchronise();
  void count(const ParseResult& result);

  ByteStream& stream_;
  TimerQueue& timers_;
  LineSettings line_;
  FlightRecorder& recorder_;
  MonoTime last_activity_{};  // when the line was last busy (our tx end or the last rx byte)
  MasterCounters counters_;
};

// True for failures worth another attempt (the line, not the device).
bool is_retryable(const Error& error) noexcept;

}  // namespace weft::modbus
