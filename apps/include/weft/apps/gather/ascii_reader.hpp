// AsciiReader: the owner of a port that carries one ASCII line instrument
// (a PortOwner: open, reopen with backoff). It cuts the bytes into lines
// (LineFramer: configured terminator, over-long lines dropped whole),
// parses each with the instrument's ParseSpec and publishes every value as
// "<instrument>.<point>" with quality good. Nothing in a line is trusted:
// bad lines are counted, and logged once per run of them, escaped. When no
// good line came within stale_after, every point is published once as
// stale; when the port is lost, once as comm-error. A polled instrument
// (`request` set) is sent its request line every period, drift-free.
//
// Every line (its terminator stripped), request, over-long head, silence
// (stale) and stream error also goes into the port's flight recorder.
//
//   fresh ──no good line for stale_after──► stale ──good line──► fresh
//   (either) ──stream error / port absent──► comm-error ──port opens──► fresh
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/apps/gather/gather_config.hpp"
#include "weft/apps/gather/port_binding.hpp"
#include "weft/apps/gather/port_owner.hpp"
#include "weft/core/context.hpp"
#include "weft/drivers/ascii/line_framer.hpp"

namespace weft::apps {

class AsciiReader final : public PortOwner {
public:
  AsciiReader(Context& ctx, const PortConfig& port, const InstrumentConfig& instrument,
              std::unique_ptr<PortBinding> binding);
  ~AsciiReader() override;

  std::vector<std::pair<std::string, InstrumentCounters>> counters() const override;
  const InstrumentCounters& instrument_counters() const noexcept { return counters_; }
  bool stale() const noexcept { return stale_; }
  bool frames_are_lines() const noexcept override { return true; }

private:
  boost::asio::awaitable<void> serve(ByteStream& stream) override;
  void on_open_failed(const std::string& reason, bool state_changed) override;
  boost::asio::awaitable<bool> send_request(ByteStream& stream);
  void lose_stream(boost::system::error_code error);
  void on_bytes(std::string_view bytes, MonoTime now);
  void on_line(std::string_view line, MonoTime now);
  void on_bad_line(const std::string& why);
  void record(MonoTime at, FrameDirection direction, std::string_view bytes, FrameVerdict verdict,
              std::size_t wire_length = 0);
  void check_stale(MonoTime now);
  void publish_all(Quality quality);

  const InstrumentConfig& cfg_;
  const ascii::ParseSpec& spec_;
  ascii::LineFramer framer_;
  std::vector<std::optional<Value>> last_values_;  // per point: what stale/comm-error readings carry
  MonoTime fresh_until_{};     // last good line (or the open) + stale_after; stale after it
  bool stale_ = false;
  bool comm_error_ = false;    // comm-error published for this outage
  std::uint64_t bad_run_ = 0;  // bad lines since the last good one (logged at the first)
  InstrumentCounters counters_;
};

}  // namespace weft::apps
