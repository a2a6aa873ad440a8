// ReconnectPolicy: the state machine and backoff arithmetic, nothing else.
//
//   closed/absent/failed --open ok--> open --io error--> absent | failed
//   (the back-off counts failures until on_io_ok(), not until an open)
//   closed/absent/failed --open failed--> absent (not_found) | failed (other kinds)
#include "weft/drivers/serial/reconnect_policy.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/error.hpp>

namespace weft::serial {

const char* to_string(PortState state) noexcept {
  switch (state) {
    case PortState::closed: return "closed";
    case PortState::absent: return "absent";
    case PortState::open: return "open";
    case PortState::failed: return "failed";
  }
  return "unknown";
}

std::string PortTransition::describe() const {
  std::string line = std::string(to_string(from)) + " -> " + to_string(to);
  if (!reason.empty()) line += ": " + reason;
  return line;
}

ReconnectPolicy::ReconnectPolicy(ReconnectOptions options) : options_(options) {
  options_.min_delay = std::max(options_.min_delay, Duration::zero());
  options_.max_delay = std::max(options_.max_delay, options_.min_delay);
}

Duration ReconnectPolicy::next_delay() const noexcept {
  if (failures_ == 0) return Duration::zero();
  Duration delay = options_.min_delay;
  for (unsigned i = 1; i < failures_ && delay < options_.max_delay; ++i) delay *= 2;
  return std::min(delay, options_.max_delay);
}

std::optional<PortTransition> ReconnectPolicy::on_open_ok() {
  return move_to(PortState::open, std::nullopt, {});
}

std::optional<PortTransition> ReconnectPolicy::on_open_failed(const PortError& error) {
  ++failures_;
  const PortState next = error.kind == PortErrorKind::not_found ? PortState::absent : PortState::failed;
  return move_to(next, error.kind, error.message);
}

std::optional<PortTransition> ReconnectPolicy::on_io_error(boost::system::error_code error) {
  ++failures_;
  const bool vanished = error == boost::asio::error::eof || error == boost::system::errc::io_error ||
                        error == boost::system::errc::no_such_device ||
                        error == boost::system::errc::no_such_device_or_address;
  return move_to(vanished ? PortState::absent : PortState::failed, PortErrorKind::io, error.message());
}

std::optional<PortTransition> ReconnectPolicy::move_to(PortState state, std::optional<PortErrorKind> kind,
                                                       std::string reason) {
  changed_ = state != state_ || (state == PortState::failed && kind != kind_);
  const PortState from = std::exchange(state_, state);
  kind_ = kind;
  if (!changed_) return std::nullopt;
  return PortTransition{from, state, std::move(reason)};
}

}  // namespace weft::serial
