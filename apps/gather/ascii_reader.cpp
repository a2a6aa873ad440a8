// AsciiReader: see ascii_reader.hpp. One read loop per open port: each
// wait is a read raced against the next deadline (the stale deadline, or
// the next request of a polled instrument), so silence is noticed on time
// and a stop cancels the read. Lines are judged one by one; a bad line
// yields no value at all (ParseSpec never returns part of a line).
#include "weft/apps/gather/ascii_reader.hpp"

#include <array>
#include <cmath>
#include <limits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include "weft/core/ticker.hpp"
#include "weft/core/timers.hpp"
#include "weft/drivers/ascii/escape.hpp"

namespace weft::apps {

using namespace boost::asio::experimental::awaitable_operators;

namespace {
// While stale (and not polled) nothing is due: wake now and then anyway,
// so the wait stays bounded.
constexpr Duration kIdleWake = std::chrono::hours(1);

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

AsciiReader::AsciiReader(Context& ctx, const PortConfig& port, const InstrumentConfig& instrument,
                         std::unique_ptr<PortBinding> binding)
    : PortOwner(ctx, port, std::move(binding)),
      cfg_(instrument),
      spec_(instrument.ascii.spec.value()),
      framer_(instrument.ascii.framing),
      last_values_(instrument.points.size()) {}

AsciiReader::~AsciiReader() = default;

std::vector<std::pair<std::string, InstrumentCounters>> AsciiReader::counters() const {
  return {{cfg_.name, counters_}};
}

void AsciiReader::on_open_failed(const std::string& reason, bool) {
  counters_.last_error = reason;
  if (comm_error_) return;  // once per outage
  comm_error_ = true;
  publish_all(Quality::comm_error);
}

boost::asio::awaitable<void> AsciiReader::serve(ByteStream& stream) {
  framer_.reset();  // a partial line of the last connection is not the start of this one's
  const MonoTime opened = ctx_.clock().now();
  comm_error_ = false;
  stale_ = false;
  fresh_until_ = opened + cfg_.ascii.stale_after;
  const bool polled = !cfg_.ascii.request.empty();
  // Requests go out at open + k * period; periods the port could not keep
  // up with are counted as missed and skipped.
  Ticker requests(ctx_.timers(), nullptr, cfg_.period, {Duration::zero(), Duration::zero()});
  std::array<char, 512> chunk{};
  for (;;) {
    if (polled && ctx_.clock().now() >= requests.next_deadline()) {
      counters_.missed += requests.advance(ctx_.clock().now()).missed;
      if (!co_await send_request(stream)) co_return;
    }
    // One nanosecond past the freshness window: a line arriving exactly at
    // its end still counts (and on the virtual clock a tie is not a race).
    MonoTime wake = stale_ ? ctx_.clock().now() + kIdleWake : fresh_until_ + Duration(1);
    if (polled) wake = std::min(wake, requests.next_deadline());
    auto outcome = co_await (stream.async_read_some(boost::asio::buffer(chunk),
                                                    boost::asio::as_tuple(boost::asio::use_awaitable)) ||
                             expires_at(ctx_.timers(), wake));
    const MonoTime now = ctx_.clock().now();
    if (outcome.index() == 0) {
      const auto [error, n] = std::get<0>(outcome);
      if (error) {
        lose_stream(error);
        co_return;
      }
      port_works();  // the device is there and talking
      on_bytes(std::string_view(chunk.data(), n), now);
    }
    check_stale(now);
  }
}

// The stream failed: the port must be reopened; until then the points are
// comm-error (published once).
void AsciiReader::lose_stream(boost::system::error_code error) {
  // We are being stopped: a cancelled read or write is not a device error.
  if (error == boost::asio::error::operation_aborted) throw boost::system::system_error(error);
  record(ctx_.clock().now(), FrameDirection::rx, {}, FrameVerdict::other);
  ++counters_.other_errors;
  counters_.last_error = error.message();
  comm_error_ = true;
  publish_all(Quality::comm_error);
  report_io_error(error);
}

// False when the stream failed (lose_stream() has been called).
boost::asio::awaitable<bool> AsciiReader::send_request(ByteStream& stream) {
  const std::string& request = cfg_.ascii.request;
  auto outcome = co_await (boost::asio::async_write(stream, boost::asio::buffer(request),
                                                    boost::asio::as_tuple(boost::asio::use_awaitable)) ||
                           expires_at(ctx_.timers(), ctx_.clock().now() + cfg_.period));
  if (outcome.index() == 0) {
    const auto [error, written] = std::get<0>(outcome);
    (void)written;
    if (error) {
      lose_stream(error);
      co_return false;
    }
    ++counters_.requests;
    record(ctx_.clock().now(), FrameDirection::tx, request, FrameVerdict::sent);
  } else {  // the line would not take it (flow control held): try again next period
    record(ctx_.clock().now(), FrameDirection::tx, request, FrameVerdict::timeout);
    ++counters_.other_errors;
    counters_.last_error = "request not written within one period (flow control holding the line?)";
  }
  co_return true;
}

// Fed up to each possible end of a line, so lines and over-long discards
// are judged in the order they came (a FeedResult keeps them apart).
void AsciiReader::on_bytes(std::string_view bytes, MonoTime now) {
  const char last = cfg_.ascii.framing.terminator.back();
  while (!bytes.empty()) {
    const std::size_t end = bytes.find(last);
    const std::size_t cut = end == std::string_view::npos ? bytes.size() : end + 1;
    const ascii::FeedResult fed = framer_.feed(bytes.substr(0, cut));
    bytes.remove_prefix(cut);
    for (const ascii::Discard& d : fed.discards) {
      record(now, FrameDirection::rx, d.head, FrameVerdict::overlong, d.length);
      ++counters_.polls;
      ++counters_.overlong;
      ++counters_.other_errors;
      on_bad_line("a line of " + std::to_string(d.length) + " bytes, longer than max_line " +
                  std::to_string(cfg_.ascii.framing.max_line) + ", dropped: \"" + ascii::escape_for_log(d.head, 32) +
                  "...\"");
    }
    for (const std::string& line : fed.lines) on_line(line, now);
  }
}

void AsciiReader::on_line(std::string_view line, MonoTime now) {
  ++counters_.polls;
  ascii::ParseResult parsed = spec_.parse(line);
  if (parsed.ignored()) {  // a fine line no point asks for
    record(now, FrameDirection::rx, line, FrameVerdict::ok);
    ++counters_.ignored;
    return;
  }
  if (parsed.error()) {
    const bool checksum = parsed.code == ascii::ParseCode::bad_checksum || parsed.code == ascii::ParseCode::missing_checksum;
    record(now, FrameDirection::rx, line, checksum ? FrameVerdict::bad_crc : FrameVerdict::garbage);
    ++(checksum ? counters_.crc_errors : counters_.other_errors);
    on_bad_line(std::string(ascii::to_string(parsed.code)) + ": " + parsed.message);
    return;
  }
  record(now, FrameDirection::rx, line, FrameVerdict::ok);
  ++counters_.good_polls;
  counters_.last_good = now;
  if (bad_run_ > 0) {
    ctx_.log().info("instrument {} on {}: good lines again after {} bad", cfg_.name, port_.name, bad_run_);
    bad_run_ = 0;
  }
  if (stale_) {
    ctx_.log().info("instrument {} on {}: good lines again; points fresh", cfg_.name, port_.name);
    stale_ = false;
  }
  fresh_until_ = now + cfg_.ascii.stale_after;
  for (ascii::NamedValue& v : parsed.values) {
    for (std::size_t k = 0; k < cfg_.points.size(); ++k) {
      if (cfg_.points[k].name != v.name) continue;
      last_values_[k] = v.value;
      ctx_.publish(cfg_.name + "." + v.name, std::move(v.value), Quality::good);
      ++counters_.readings;
      break;
    }
  }
}

// One log line per run of bad lines, at its first: a babbling instrument
// must not flood the log.
void AsciiReader::on_bad_line(const std::string& why) {
  ++counters_.bad_lines;
  counters_.last_error = why;
  if (bad_run_++ == 0)
    ctx_.log().warn("instrument {} on {}: bad line: {} (bad lines are counted, not logged, until a good one)", cfg_.name,
                    port_.name, why);
}

// Copies at most RecordedFrame::kMaxBytes of the line into a fixed slot:
// no allocation per line.
void AsciiReader::record(MonoTime at, FrameDirection direction, std::string_view bytes, FrameVerdict verdict,
                         std::size_t wire_length) {
  recorder_.record(at, direction, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                   verdict, wire_length);
}

void AsciiReader::check_stale(MonoTime now) {
  if (stale_ || now <= fresh_until_) return;
  stale_ = true;
  record(now, FrameDirection::rx, {}, FrameVerdict::timeout);  // silence: nothing good came
  ++counters_.timeouts;
  ctx_.log().warn("instrument {} on {}: no good line for {} s (stale_after); its points are stale until one comes",
                  cfg_.name, port_.name, seconds(cfg_.ascii.stale_after));
  publish_all(Quality::stale);
}

void AsciiReader::publish_all(Quality quality) {
  for (std::size_t k = 0; k < cfg_.points.size(); ++k) {
    Value v = last_values_[k].value_or(Value{std::numeric_limits<double>::quiet_NaN()});
    ctx_.publish(cfg_.name + "." + cfg_.points[k].name, std::move(v), quality);
    ++counters_.readings;
  }
}

}  // namespace weft::apps
