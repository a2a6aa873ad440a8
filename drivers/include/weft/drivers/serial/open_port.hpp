// open_exclusive(): lock, open and configure a serial port as one step, so a
// port is either fully ours and ready or untouched. Three guards: the UUCP
// lock file, TIOCEXCL (later non-root open(2)s fail with EBUSY) and
// flock(LOCK_EX) on the device. Any failure after the lock was taken closes
// the fd and removes the lock file; a stale lock file it took over is named
// by stale_lock_note(), for the caller's log.
#pragma once

#include <string>

#include "weft/drivers/serial/port_error.hpp"
#include "weft/drivers/serial/port_lock.hpp"
#include "weft/drivers/serial/settings.hpp"

namespace weft::serial {

// An open, configured, exclusively held port. Move-only; closing (or
// destruction) removes the lock file, then closes the fd (a lock is released
// while its device is still held: see port_lock.cpp).
class OpenPort {
public:
  OpenPort(OpenPort&& other) noexcept;
  OpenPort& operator=(OpenPort&& other) noexcept;
  OpenPort(const OpenPort&) = delete;
  OpenPort& operator=(const OpenPort&) = delete;
  ~OpenPort();

  int fd() const noexcept { return fd_; }  // -1 once closed or released
  const std::string& path() const noexcept { return path_; }
  const std::string& lock_file() const noexcept { return lock_.file(); }
  // Empty, or "took over stale lock file F: PID 1 is running but does not have P open".
  const std::string& stale_lock_note() const noexcept { return lock_.stale_note(); }

  // Hand-over to an owner of the fd (SerialStream): the caller must release
  // the lock before closing the fd.
  int release_fd() noexcept;
  PortLock release_lock() noexcept { return std::move(lock_); }

  void close() noexcept;

private:
  friend PortResult<OpenPort> open_exclusive(const SerialSettings&, const std::string&);
  OpenPort(std::string path, int fd, PortLock lock) noexcept;

  std::string path_;
  int fd_ = -1;
  PortLock lock_;
};

// Validates `settings`, takes the lock file in `lock_dir`, opens the device
// (O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC), sets TIOCEXCL, flocks it, applies
// the settings (termios_config.hpp) and discards anything already received.
PortResult<OpenPort> open_exclusive(const SerialSettings& settings, const std::string& lock_dir = default_lock_dir());

// Closes a device fd from open_exclusive(), clearing TIOCEXCL first: the
// flag belongs to the tty, not the fd, and a pty keeps its tty (and the
// flag, refusing every later non-root open) for as long as its master lives.
void close_device(int fd) noexcept;

}  // namespace weft::serial
