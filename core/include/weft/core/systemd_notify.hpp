// systemd's notify protocol (sd_notify(3)), spoken directly rather than
// through libsystemd. With no NOTIFY_SOCKET in the environment (not started
// by systemd) every call is a no-op. A send is one datagram on a Unix
// socket, waiting at most 1 s for room; the runtime sends from its monitor
// thread, never from the loop.
#pragma once

#include <optional>
#include <string_view>

#include "weft/core/clock.hpp"

namespace weft::systemd {

// Sends `state` ("READY=1", "WATCHDOG=1", "STATUS=...", "STOPPING=1").
// True if a datagram was sent.
bool notify(std::string_view state) noexcept;
// WATCHDOG_USEC for this process (WATCHDOG_PID, if set, must be ours), or
// nothing when the watchdog is off (as sd_watchdog_enabled(3)).
std::optional<Duration> watchdog_timeout() noexcept;

}  // namespace weft::systemd
