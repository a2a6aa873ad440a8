// systemd's notify protocol, through libsystemd's sd_notify when weft was
// built with it (otherwise every call is a no-op that returns false). With
// no NOTIFY_SOCKET in the environment (not started by systemd) every call
// is a no-op too. A send is one datagram on a Unix socket; the runtime
// sends from its monitor thread, never from the loop.
#pragma once

#include <optional>
#include <string_view>

#include "weft/core/clock.hpp"

namespace weft::systemd {

// Built with libsystemd.
bool available() noexcept;
// Sends `state` ("READY=1", "WATCHDOG=1", "STATUS=...", "STOPPING=1").
// True if a datagram was sent.
bool notify(std::string_view state) noexcept;
// WATCHDOG_USEC for this process (WATCHDOG_PID, if set, must be ours), or
// nothing when the watchdog is off or libsystemd is missing.
std::optional<Duration> watchdog_timeout() noexcept;

}  // namespace weft::systemd
