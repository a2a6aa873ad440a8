// sd_notify wrapper: compiled against libsystemd when CMake found it
// (WEFT_HAVE_LIBSYSTEMD), else a no-op; core/CMakeLists.txt says which at
// configure time.
#include "weft/core/systemd_notify.hpp"

#include <string>

#if WEFT_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace weft::systemd {

#if WEFT_HAVE_LIBSYSTEMD

bool available() noexcept { return true; }

bool notify(std::string_view state) noexcept {
  try {
    const std::string text(state);
    return ::sd_notify(0, text.c_str()) > 0;
  } catch (...) {
    return false;  // allocation failure: a missed notification, not a crash
  }
}

std::optional<Duration> watchdog_timeout() noexcept {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

#else

bool available() noexcept { return false; }
bool notify(std::string_view) noexcept { return false; }
std::optional<Duration> watchdog_timeout() noexcept { return std::nullopt; }

#endif

}  // namespace weft::systemd
