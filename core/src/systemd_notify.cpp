// systemd's notify protocol, spoken directly (systemd_notify.hpp): one
// datagram on a Unix socket, as sd_notify(3) describes it and libsystemd
// sends it. Not linking libsystemd keeps it and what it pulls in
// (libgcrypt, libgpg-error, liblzma, libzstd, liblz4, libcap) out of every
// weftd: about 1 MiB of mapped pages and 0.1 MiB private dirty on the demo
// box for two calls (README: footprint).
#include "weft/core/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

namespace weft::systemd {
namespace {

// NOTIFY_SOCKET: a path ("/run/systemd/notify") or, with a leading '@', a
// name in the abstract namespace. Anything else (unset, empty, too long,
// another address family systemd may add) sends nothing.
bool notify_address(sockaddr_un& addr, socklen_t& len) noexcept {
  const char* e = std::getenv("NOTIFY_SOCKET");
  if (e == nullptr) return false;
  const std::size_t n = std::strlen(e);
  if (n < 2 || n >= sizeof addr.sun_path || (e[0] != '/' && e[0] != '@')) return false;
  addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, e, n);
  if (e[0] == '@') addr.sun_path[0] = '\0';
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + (e[0] == '/' ? 1 : 0));
  return true;
}

}  // namespace

bool notify(std::string_view state) noexcept {
  sockaddr_un addr;
  socklen_t len = 0;
  if (state.empty() || !notify_address(addr, len)) return false;
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // systemd reads its notify socket all the time; a manager that does not
  // costs this thread (the monitor's, never the loop's) at most 1 s.
  const timeval limit{1, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  ssize_t sent;
  do {
    sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  } while (sent < 0 && errno == EINTR);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

std::optional<Duration> watchdog_timeout() noexcept {
  // sd_watchdog_enabled(0, ...): WATCHDOG_USEC, a positive number of
  // microseconds, for us unless WATCHDOG_PID names another process.
  const char* usec_text = std::getenv("WATCHDOG_USEC");
  if (usec_text == nullptr) return std::nullopt;
  std::uint64_t usec = 0;
  const char* usec_end = usec_text + std::strlen(usec_text);
  if (auto r = std::from_chars(usec_text, usec_end, usec); r.ec != std::errc{} || r.ptr != usec_end || usec == 0)
    return std::nullopt;
  if (const char* pid_text = std::getenv("WATCHDOG_PID"); pid_text != nullptr) {
    long long pid = 0;
    const char* pid_end = pid_text + std::strlen(pid_text);
    if (auto r = std::from_chars(pid_text, pid_end, pid); r.ec != std::errc{} || r.ptr != pid_end || pid <= 0)
      return std::nullopt;
    if (pid != ::getpid()) return std::nullopt;
  }
  return std::chrono::microseconds(usec);
}

}  // namespace weft::systemd
