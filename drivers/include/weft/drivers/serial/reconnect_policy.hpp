// ReconnectPolicy: for the owner of a serial port (a bus coroutine), the
// port's state (closed/absent/open/failed), the backoff before the next open
// attempt (reset once the open port carried a good exchange: an open alone
// proves nothing, as a dying adapter opens and then fails every read), and
// whether an event is a transition worth one log line (retries in the same condition are silent). Pure: no
// clock, timers or I/O; the owner sleeps next_delay() itself.
#pragma once

#include <optional>
#include <string>

#include <boost/system/error_code.hpp>

#include "weft/core/clock.hpp"
#include "weft/drivers/serial/port_error.hpp"

namespace weft::serial {

enum class PortState {
  closed,  // not opened yet
  absent,  // the device is not there (unplugged, not yet enumerated)
  open,
  failed,  // the device is there but cannot be used (in use, permission, settings)
};

const char* to_string(PortState state) noexcept;

struct ReconnectOptions {
  Duration min_delay = std::chrono::milliseconds(250);  // first retry after a failure
  Duration max_delay = std::chrono::seconds(30);        // backoff ceiling
};

struct PortTransition {
  PortState from = PortState::closed;
  PortState to = PortState::closed;
  std::string reason;  // the error message; empty for a successful open

  // "absent -> open", "open -> absent: <reason>": a log line's body.
  std::string describe() const;
};

class ReconnectPolicy {
public:
  explicit ReconnectPolicy(ReconnectOptions options = {});

  PortState state() const noexcept { return state_; }
  // Wait this long before the next open attempt: zero before the first one,
  // then min_delay doubling per consecutive failure (of an open, or of I/O on
  // a port opened since the last good exchange) up to max_delay.
  Duration next_delay() const noexcept;
  unsigned consecutive_failures() const noexcept { return failures_; }
  // Whether the last on_*() call was a transition (what it returned).
  bool state_changed() const noexcept { return changed_; }

  // Each returns the transition to log, or nullopt when nothing changed.
  // Failed -> failed is a transition when the PortErrorKind differs
  // (in_use -> permission is news; another in_use retry is not).
  // Keeps the failure count: see on_io_ok().
  std::optional<PortTransition> on_open_ok();
  // The open port carried a good exchange (an answer, a line): the device is
  // really there, so the next failure backs off from min_delay again.
  void on_io_ok() noexcept { failures_ = 0; }
  std::optional<PortTransition> on_open_failed(const PortError& error);
  // A read or write failed on the open port (not operation_aborted: a
  // cancellation is not a device error). EIO, ENODEV, ENXIO and end of file
  // mean the device vanished (absent); anything else is failed. The next
  // attempt waits at least min_delay, and a port that fails right after
  // every open backs off as one that does not open.
  std::optional<PortTransition> on_io_error(boost::system::error_code error);

private:
  std::optional<PortTransition> move_to(PortState state, std::optional<PortErrorKind> kind, std::string reason);

  ReconnectOptions options_;
  PortState state_ = PortState::closed;
  std::optional<PortErrorKind> kind_;  // of the failure behind absent/failed
  unsigned failures_ = 0;
  bool changed_ = false;
};

}  // namespace weft::serial
