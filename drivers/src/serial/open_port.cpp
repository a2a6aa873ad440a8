// open_exclusive() and OpenPort. Every step's failure maps to a PortError
// whose kind tells a supervisor "absent" (not_found) from "present but
// unusable". The lock dir's guard is held from taking the lock until the
// device is open or given up (port_lock.cpp, rule 4); cleanup on failure is
// by RAII in reverse order: fd closed, lock removed (still guarded), guard
// dropped. A closing OpenPort removes its lock while it still holds the fd.
#include "weft/drivers/serial/open_port.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "weft/drivers/serial/os_seam.hpp"
#include "weft/drivers/serial/termios_config.hpp"

namespace weft::serial {
namespace {

std::string errno_text(int e) { return std::system_category().message(e); }

PortError open_error(const std::string& path, int e) {
  switch (e) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return {PortErrorKind::not_found, e,
              "port " + path + " not found (open: " + errno_text(e) +
                  "); check that the device is plugged in and the path in the config is right"};
    case EACCES:
    case EPERM:
      return {PortErrorKind::permission, e,
              "permission denied opening port " + path +
                  "; add the user running weft to the group that owns the device (usually dialout)"};
    case EBUSY:
      return {PortErrorKind::in_use, e,
              "port " + path +
                  " is busy: another process has opened it exclusively (TIOCEXCL); stop that process or choose "
                  "another port"};
    default:
      return {PortErrorKind::io, e, "cannot open port " + path + ": " + errno_text(e)};
  }
}

// Closes the fd on scope exit unless released.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) close_device(fd);
  }
  int release() noexcept { return std::exchange(fd, -1); }
};

}  // namespace

void close_device(int fd) noexcept {
  os().ioctl(fd, TIOCNXCL, nullptr);
  os().close(fd);
}

OpenPort::OpenPort(std::string path, int fd, PortLock lock) noexcept
    : path_(std::move(path)), fd_(fd), lock_(std::move(lock)) {}

OpenPort::OpenPort(OpenPort&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), lock_(std::move(other.lock_)) {}

OpenPort& OpenPort::operator=(OpenPort&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    lock_ = std::move(other.lock_);
  }
  return *this;
}

OpenPort::~OpenPort() { close(); }

int OpenPort::release_fd() noexcept { return std::exchange(fd_, -1); }

void OpenPort::close() noexcept {
  lock_.release();  // first, while the fd still shows we hold the device (port_lock.cpp, rule 2)
  if (fd_ >= 0) close_device(std::exchange(fd_, -1));
}

PortResult<OpenPort> open_exclusive(const SerialSettings& settings, const std::string& lock_dir) {
  if (auto invalid = settings.validate()) return PortError{PortErrorKind::invalid_settings, 0, *invalid};
  const std::string& path = settings.path;
  const OsCalls& sys = os();

  auto guard = LockDirGuard::take(lock_dir, path);
  if (!guard) return guard.error();
  auto lock = PortLock::acquire(path, lock_dir, guard.value());
  if (!lock) return lock.error();

  FdGuard fd{sys.open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0)};
  if (fd.fd < 0) return open_error(path, errno);

  if (sys.ioctl(fd.fd, TIOCEXCL, nullptr) != 0) {
    int e = errno;
    if (e == ENOTTY)
      return PortError{PortErrorKind::not_a_tty, e,
                       "port " + path + " is not a serial device (TIOCEXCL: " + errno_text(e) +
                           "); check the path in the config"};
    return PortError{PortErrorKind::io, e, "port " + path + ": cannot make it exclusive (TIOCEXCL: " + errno_text(e) + ")"};
  }

  if (sys.flock(fd.fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EWOULDBLOCK)
      return PortError{PortErrorKind::in_use, e,
                       "port " + path +
                           " is in use: another process holds an flock on the device (it ignores lock files in " +
                           lock_dir + "); stop that process or choose another port"};
    return PortError{PortErrorKind::io, e, "port " + path + ": cannot flock the device: " + errno_text(e)};
  }

  if (auto bad = configure_port(fd.fd, settings)) return std::move(*bad);

  if (sys.tcflush(fd.fd, TCIOFLUSH) != 0) {
    int e = errno;
    return PortError{PortErrorKind::io, e,
                     "port " + path + ": cannot discard stale input (tcflush: " + errno_text(e) +
                         "); check that the device is still connected"};
  }
  return OpenPort(path, fd.release(), std::move(lock.value()));
}

}  // namespace weft::serial
