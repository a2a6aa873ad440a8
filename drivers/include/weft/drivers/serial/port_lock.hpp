// PortLock: the UUCP lock file `<lock_dir>/LCK..<name>` holding the owner's
// PID as "%10d\n" (honoured by minicom, picocom, pppd, ModemManager). It
// appears atomically (temp file + link(2)); a lock whose owner is dead is
// stale and taken over; release removes it only while it holds our PID.
// Not thread-safe; one PortLock per port per process.
#pragma once

#include <string>

#include "weft/drivers/serial/port_error.hpp"

namespace weft::serial {

// /run/lock if it is a directory, else /var/lock (FHS).
std::string default_lock_dir();

// The lock file for `port_path`: symlinks (e.g. /dev/serial/by-id/...) are
// resolved first, so every name of one device maps to one lock; the name is
// the basename of the device: /dev/ttyUSB0 -> <lock_dir>/LCK..ttyUSB0.
std::string lock_file_path(const std::string& port_path, const std::string& lock_dir);

class PortLock {
public:
  // Takes the lock for `port_path` in `lock_dir`. Fails with in_use (naming
  // the holder's PID and the lock file) if a live process holds it, and with
  // lock_dir or permission if the lock dir is not writable. A lock file that
  // names a dead process, or whose content is not a PID at all (empty,
  // garbage, a binary PID), is stale: it is removed and the lock taken.
  static PortResult<PortLock> acquire(const std::string& port_path, const std::string& lock_dir);

  PortLock() = default;  // holds nothing
  PortLock(PortLock&& other) noexcept;
  PortLock& operator=(PortLock&& other) noexcept;
  PortLock(const PortLock&) = delete;
  PortLock& operator=(const PortLock&) = delete;
  ~PortLock();

  // Removes the lock file if it still holds our PID. Idempotent.
  void release() noexcept;
  bool held() const noexcept { return !file_.empty(); }
  const std::string& file() const noexcept { return file_; }

private:
  PortLock(std::string file, int pid) : file_(std::move(file)), pid_(pid) {}

  std::string file_;  // empty: not held
  int pid_ = 0;       // the PID written into the file
};

}  // namespace weft::serial
