// RTU master transactions. Per attempt:
//   1. quiet: read and drop input until the line has been silent for t3.5
//      (+ pause quirk) since the last byte received, or discarded; still
//      busy after max_quiet_wait: errc::line_busy, nothing is written;
//   2. write the request;
//   3. read until the streaming parser has a verdict, or until the response
//      deadline (wire time of the request + response_timeout), or until the
//      line goes quiet in mid-frame (the frame is then judged as it is);
//      bytes around an accepted frame are recorded and counted as noise;
//   4. a garbled answer: wait for a longer silence, dropping what arrives
//      (resynchronise).
#include "weft/drivers/modbus/rtu_master.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "weft/core/service_stats.hpp"
#include "weft/core/timers.hpp"

namespace weft::modbus {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// A frame in progress ends when the line has been quiet this long. Generous
// against USB-serial adapters, which deliver bytes in bursts (latency timers
// of up to 16 ms), yet far below a response timeout.
Duration mid_frame_gap(const LineSettings& line) {
  return std::max<Duration>(line.t3_5() * 4, std::chrono::milliseconds(20));
}

FrameVerdict verdict_of(const ParseResult& r) {
  const auto* e = std::get_if<Error>(&r);
  if (e == nullptr) return FrameVerdict::ok;
  if (e->code == errc::timeout) return FrameVerdict::timeout;
  if (e->code == errc::bad_crc) return FrameVerdict::bad_crc;
  if (e->code == errc::exception_response) return FrameVerdict::exception;
  if (e->code == errc::truncated) return FrameVerdict::truncated;
  if (e->code == errc::wrong_unit || e->code == errc::wrong_function || e->code == errc::malformed)
    return FrameVerdict::garbage;
  return FrameVerdict::other;
}

}  // namespace

bool is_retryable(const Error& error) noexcept {
  return error.code == errc::timeout || error.code == errc::bad_crc || error.code == errc::truncated ||
         error.code == errc::wrong_unit || error.code == errc::wrong_function || error.code == errc::malformed;
}

RtuMaster::RtuMaster(ByteStream& stream, TimerQueue& timers, LineSettings line, FlightRecorder& recorder)
    : stream_(stream), timers_(timers), line_(line), recorder_(recorder), last_activity_(timers.clock().now()) {
  line_.validate();
}

boost::asio::awaitable<ParseResult> RtuMaster::transact(const Adu& request, const MasterOptions& options,
                                                        std::source_location loc) {
  std::optional<AwaitSiteScope> site;
  if (ServiceStats* s = SliceScope::current()) site.emplace(*s, "modbus transaction", loc, timers_.clock().now());
  ++counters_.transactions;
  ParseResult result;
  for (int attempt_no = 0;; ++attempt_no) {
    result = co_await attempt(request, options);
    const auto* error = std::get_if<Error>(&result);
    if (error == nullptr || !is_retryable(*error) || attempt_no >= options.retries) break;
    ++counters_.retries;
  }
  count(result);
  co_return result;
}

void RtuMaster::count(const ParseResult& result) {
  const auto* e = std::get_if<Error>(&result);
  if (e == nullptr) ++counters_.ok;
  else if (e->code == errc::timeout) ++counters_.timeouts;
  else if (e->code == errc::bad_crc) ++counters_.crc_errors;
  else if (e->code == errc::exception_response) ++counters_.exceptions;
  else if (e->code == errc::line_busy) ++counters_.line_busy;
  else ++counters_.other_errors;
}

// Timing only (flush_before_request = false): quiet since our own last activity.
boost::asio::awaitable<void> RtuMaster::wait_for_silence(Duration extra) {
  const MonoTime quiet_from = last_activity_ + line_.t3_5() + extra;
  if (quiet_from > timers_.clock().now()) co_await sleep_until(timers_, quiet_from);
}

// Reads (and drops, as noise) whatever arrives until nothing has for `quiet`.
// Bytes still unread when the line looks quiet are discarded and counted as
// received now, since when they came is unknown: the wait starts again.
boost::asio::awaitable<RtuMaster::LineState> RtuMaster::wait_for_quiet_line(Duration quiet, Duration bound) {
  const MonoTime give_up = timers_.clock().now() + bound;
  std::vector<std::uint8_t> drained;
  std::array<std::uint8_t, 256> chunk{};
  LineState result{LineState::busy, {}};
  for (;;) {
    const MonoTime now = timers_.clock().now();
    const MonoTime quiet_at = last_activity_ + quiet;
    if (now >= quiet_at) {
      const std::size_t dropped = stream_.discard_input();
      if (dropped == 0) {
        result.state = LineState::quiet;
        break;
      }
      counters_.noise_bytes += dropped;
      recorder_.record(now, FrameDirection::rx, {}, FrameVerdict::noise, dropped);
      last_activity_ = now;
      continue;
    }
    if (now >= give_up) break;
    auto outcome = co_await (stream_.async_read_some(boost::asio::buffer(chunk), boost::asio::as_tuple(boost::asio::use_awaitable)) ||
                             expires_at(timers_, std::min(quiet_at, give_up)));
    if (outcome.index() == 1) continue;
    auto [read_error, n] = std::get<0>(outcome);
    if (read_error) {
      result = {LineState::failed, read_error};
      break;
    }
    drained.insert(drained.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    last_activity_ = timers_.clock().now();
  }
  record_noise(drained);
  co_return result;
}

void RtuMaster::record_noise(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  counters_.noise_bytes += bytes.size();
  recorder_.record(timers_.clock().now(), FrameDirection::rx, bytes, FrameVerdict::noise);
}

boost::asio::awaitable<ParseResult> RtuMaster::attempt(const Adu& request, const MasterOptions& options) {
  if (options.flush_before_request) {
    const LineState line = co_await wait_for_quiet_line(line_.t3_5() + options.pause_between_requests,
                                                        options.max_quiet_wait);
    if (line.state == LineState::failed) co_return Error(std::error_code(line.error));
    if (line.state == LineState::busy) co_return Error(errc::line_busy);
  } else {
    co_await wait_for_silence(options.pause_between_requests);
  }

  auto [write_error, written] =
      co_await boost::asio::async_write(stream_, boost::asio::buffer(request), boost::asio::as_tuple(boost::asio::use_awaitable));
  (void)written;
  const MonoTime sent = timers_.clock().now();
  recorder_.record(sent, FrameDirection::tx, request, FrameVerdict::sent);
  last_activity_ = sent + line_.frame_wire_time(request.size());
  if (write_error) co_return Error(std::error_code(write_error));
  if (!expects_response(request)) co_return WriteEcho{};  // broadcast: nobody answers

  const MonoTime deadline = last_activity_ + options.response_timeout;
  std::vector<std::uint8_t> received;
  std::array<std::uint8_t, 256> chunk{};
  ResponseScan scan = scan_response(request, received);
  while (std::holds_alternative<NeedMore>(scan.result)) {
    // Noise alone (no plausible frame start yet) does not end the wait: the
    // answer may still come after a turnaround glitch.
    const MonoTime give_up =
        scan.frame_started ? std::min(deadline, last_activity_ + mid_frame_gap(line_)) : deadline;
    auto outcome = co_await (stream_.async_read_some(boost::asio::buffer(chunk), boost::asio::as_tuple(boost::asio::use_awaitable)) ||
                             expires_at(timers_, give_up));
    if (outcome.index() == 1) {  // the line went quiet: judge what we have
      scan = scan_final_response(request, received);
      break;
    }
    auto [read_error, n] = std::get<0>(outcome);
    if (read_error) {
      recorder_.record(timers_.clock().now(), FrameDirection::rx, received, FrameVerdict::other);
      co_return Error(std::error_code(read_error));
    }
    received.insert(received.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    last_activity_ = timers_.clock().now();
    scan = scan_response(request, received);
  }
  const std::span<const std::uint8_t> all(received);
  if (scan.frame_length > 0) {  // a frame with a good CRC: what lies around it is noise
    record_noise(all.first(scan.frame_at));
    recorder_.record(timers_.clock().now(), FrameDirection::rx, all.subspan(scan.frame_at, scan.frame_length),
                     verdict_of(scan.result));
    record_noise(all.subspan(scan.frame_at + scan.frame_length));
  } else {
    recorder_.record(timers_.clock().now(), FrameDirection::rx, received, verdict_of(scan.result));
  }
  if (const auto* e = std::get_if<Error>(&scan.result); e != nullptr && e->code != errc::timeout &&
                                                        e->code != errc::exception_response)
    co_await resynchronise(options);
  co_return std::move(scan.result);
}

// After a garbled frame the device may still be sending: wait until the
// line has been quiet for the mid-frame gap (USB adapters deliver in bursts),
// dropping what arrives. If it stays busy, the next attempt's own wait for
// quiet decides.
boost::asio::awaitable<void> RtuMaster::resynchronise(const MasterOptions& options) {
  co_await wait_for_quiet_line(mid_frame_gap(line_), options.max_quiet_wait);
}

}  // namespace weft::modbus
