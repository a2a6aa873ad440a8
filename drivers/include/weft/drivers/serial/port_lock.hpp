// PortLock: the UUCP lock file `<lock_dir>/LCK..<name>` holding the owner's
// PID as "%10d\n" (honoured by minicom, picocom, pppd, ModemManager). It
// appears atomically (temp file + link(2)). A lock is honoured only while its
// holder is alive, is another process (or this one through a live PortLock),
// and has the device open; anything else is stale and taken over, race-free
// among weft processes (port_lock.cpp says why). Release removes the file
// only while it holds our PID. One PortLock per port per process.
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

// flock(LOCK_EX) on the lock directory itself: every change weft makes to a
// lock file other than creating it when absent (a takeover; a release that
// is not done while holding the device) happens under it, so weft processes
// never interleave a check with a replace. Waits at most kWaitMs for another
// holder, then fails with lock_dir. Off the loop thread only (it may wait).
class LockDirGuard {
public:
  static constexpr int kWaitMs = 5000;
  static PortResult<LockDirGuard> take(const std::string& lock_dir, const std::string& port_path);

  LockDirGuard(LockDirGuard&& other) noexcept;
  LockDirGuard& operator=(LockDirGuard&& other) = delete;
  LockDirGuard(const LockDirGuard&) = delete;
  LockDirGuard& operator=(const LockDirGuard&) = delete;
  ~LockDirGuard();

private:
  explicit LockDirGuard(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;  // the directory, flocked; -1 once moved from
};

class PortLock {
public:
  // Takes the lock for `port_path` in `lock_dir`. Fails with in_use (naming
  // the holder's PID and the lock file) if the holder is live: alive, not
  // this process (unless this process holds it through a PortLock), and
  // having the device open (/proc/PID/fd, compared by device number, so
  // symlinks and pty names do not matter) or not checkable (EACCES: said in
  // the message). Fails with lock_dir or permission if the lock dir is not
  // usable. Any other lock file (dead PID, our own PID left by an earlier
  // process, a live PID that does not have the device open, no PID at all)
  // is stale: it is replaced and stale_note() says whose it was.
  // The first form takes a LockDirGuard itself; the second runs under the
  // caller's (open_exclusive holds one until the device is open).
  static PortResult<PortLock> acquire(const std::string& port_path, const std::string& lock_dir);
  static PortResult<PortLock> acquire(const std::string& port_path, const std::string& lock_dir,
                                      const LockDirGuard& held);

  PortLock() = default;  // holds nothing
  PortLock(PortLock&& other) noexcept;
  PortLock& operator=(PortLock&& other) noexcept;
  PortLock(const PortLock&) = delete;
  PortLock& operator=(const PortLock&) = delete;
  ~PortLock();

  // Removes the lock file if it still holds our PID. Idempotent. Call it
  // while this process still has the device open or holds a LockDirGuard:
  // then no weft process can judge the lock stale and replace it between
  // the check and the unlink.
  void release() noexcept;
  bool held() const noexcept { return !file_.empty(); }
  const std::string& file() const noexcept { return file_; }
  // Empty, or one sentence for the log: "took over stale lock file F: PID 1
  // is running but does not have /dev/ttyUSB0 open".
  const std::string& stale_note() const noexcept { return stale_note_; }

private:
  PortLock(std::string file, int pid, std::string stale_note);

  std::string file_;        // empty: not held
  int pid_ = 0;             // the PID written into the file
  std::string stale_note_;  // what was taken over, if anything
};

}  // namespace weft::serial
