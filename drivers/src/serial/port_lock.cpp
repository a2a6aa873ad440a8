// UUCP lock files: our PID goes into a private temp file that is link(2)ed
// to LCK..<name>, so the lock appears whole or not at all (EEXIST). A holder
// that is dead (kill(pid, 0) == ESRCH) or unreadable as a PID is stale and
// removed, a bounded number of times. Two takeovers of one stale lock can
// both succeed here; the flock(2) on the device (open_port.cpp) settles that.
#include "weft/drivers/serial/port_lock.hpp"

#include <fcntl.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>

#include "weft/drivers/serial/os_seam.hpp"

namespace weft::serial {
namespace {

constexpr int kMaxTakeovers = 5;  // stale locks removed before giving up
constexpr int kMaxTempTries = 3;  // leftover temp files (a previous process with our PID) replaced

std::string errno_text(int e) { return std::system_category().message(e); }

PortErrorKind kind_for_dir_errno(int e) {
  return (e == EACCES || e == EPERM || e == EROFS) ? PortErrorKind::permission : PortErrorKind::lock_dir;
}

// "%10d\n" as UUCP writes it; also accepts no padding and no newline. Anything
// else (empty, letters, a binary PID, zero or negative) is not a PID.
std::optional<int> parse_pid(std::string_view text) {
  std::size_t begin = text.find_first_not_of(' ');
  if (begin == std::string_view::npos) return std::nullopt;
  std::size_t end = text.find_last_not_of(" \n");
  if (end == std::string_view::npos || end < begin) return std::nullopt;
  std::string_view digits = text.substr(begin, end - begin + 1);
  int pid = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || pid <= 0) return std::nullopt;
  return pid;
}

struct LockContent {
  enum Status { present, missing, unreadable } status = present;
  std::optional<int> pid;  // present: the holder, or nullopt when the content is not a PID
  int sys_errno = 0;       // unreadable: why
};

LockContent read_lock(const std::string& file) {
  const OsCalls& sys = os();
  int fd = sys.open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return {LockContent::missing, std::nullopt, 0};
    if (e == ELOOP) return {LockContent::present, std::nullopt, 0};  // a symlink is not a lock we wrote
    return {LockContent::unreadable, std::nullopt, e};
  }
  char buffer[64];
  std::size_t size = 0;
  while (size < sizeof buffer) {
    ssize_t n = sys.read(fd, buffer + size, sizeof buffer - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      sys.close(fd);
      return {LockContent::unreadable, std::nullopt, e};
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  sys.close(fd);
  return {LockContent::present, parse_pid(std::string_view(buffer, size)), 0};
}

bool process_alive(int pid) {
  if (os().kill(pid, 0) == 0) return true;
  return errno != ESRCH;  // EPERM: alive, owned by another user
}

// Writes "%10d\n" to a new file only we know the name of; returns its path.
PortResult<std::string> write_temp(const std::string& port_path, const std::string& lock_dir, int pid) {
  static std::atomic<unsigned> counter{0};
  const OsCalls& sys = os();
  const std::string tmp = (std::filesystem::path(lock_dir) / ("LTMP." + std::to_string(pid) + "." +
                                                              std::to_string(counter.fetch_add(1))))
                              .string();
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < kMaxTempTries; ++tries) {
    fd = sys.open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == EEXIST) sys.unlink(tmp.c_str());
    else if (fd < 0) break;
  }
  if (fd < 0) {
    int e = errno;
    std::string hint = e == ENOENT ? "create the directory or configure another lock dir"
                                   : "give this user write access to it or configure another lock dir";
    return PortError{kind_for_dir_errno(e), e,
                     "cannot create a lock file in " + lock_dir + " for port " + port_path + ": " + errno_text(e) +
                         "; " + hint};
  }
  char text[32];
  int length = std::snprintf(text, sizeof text, "%10d\n", pid);
  std::size_t written = 0;
  int e = 0;
  while (written < static_cast<std::size_t>(length)) {
    ssize_t n = sys.write(fd, text + written, static_cast<std::size_t>(length) - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      e = n < 0 ? errno : EIO;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (sys.close(fd) != 0 && e == 0) e = errno;
  if (e != 0) {
    sys.unlink(tmp.c_str());
    return PortError{PortErrorKind::lock_dir, e,
                     "cannot write lock file " + tmp + " for port " + port_path + ": " + errno_text(e) +
                         "; check free space in " + lock_dir};
  }
  return tmp;
}

}  // namespace

std::string default_lock_dir() {
  std::error_code ec;
  return std::filesystem::is_directory("/run/lock", ec) ? "/run/lock" : "/var/lock";
}

std::string lock_file_path(const std::string& port_path, const std::string& lock_dir) {
  std::error_code ec;
  std::filesystem::path device = std::filesystem::canonical(port_path, ec);
  if (ec) device = std::filesystem::path(port_path);
  return (std::filesystem::path(lock_dir) / ("LCK.." + device.filename().string())).string();
}

PortResult<PortLock> PortLock::acquire(const std::string& port_path, const std::string& lock_dir) {
  const OsCalls& sys = os();
  const int pid = sys.getpid();
  const std::string file = lock_file_path(port_path, lock_dir);

  auto tmp = write_temp(port_path, lock_dir, pid);
  if (!tmp) return tmp.error();
  struct RemoveTemp {
    const std::string& path;
    ~RemoveTemp() { os().unlink(path.c_str()); }
  } remove_temp{tmp.value()};

  for (int takeovers = 0; takeovers <= kMaxTakeovers; ++takeovers) {
    if (sys.link(tmp.value().c_str(), file.c_str()) == 0) return PortLock(file, pid);
    int e = errno;
    if (e != EEXIST)
      return PortError{kind_for_dir_errno(e), e,
                       "cannot create lock file " + file + " for port " + port_path + ": " + errno_text(e) +
                           "; give this user write access to " + lock_dir + " or configure another lock dir"};

    LockContent holder = read_lock(file);
    if (holder.status == LockContent::missing) continue;  // released meanwhile: try again
    if (holder.status == LockContent::unreadable)
      return PortError{kind_for_dir_errno(holder.sys_errno), holder.sys_errno,
                       "cannot read lock file " + file + " for port " + port_path + ": " +
                           errno_text(holder.sys_errno) +
                           "; if no program is using the port, remove the lock file"};
    if (holder.pid && process_alive(*holder.pid))
      return PortError{PortErrorKind::in_use, EBUSY,
                       "port " + port_path + " is in use by PID " + std::to_string(*holder.pid) + " (lock file " +
                           file + "); stop that process or choose another port"};

    // Stale: the holder is dead, or the file does not name a process.
    if (sys.unlink(file.c_str()) != 0 && errno != ENOENT) {
      int u = errno;
      std::string whose = holder.pid ? "held by PID " + std::to_string(*holder.pid) + ", which is not running"
                                     : "it does not contain a PID";
      return PortError{kind_for_dir_errno(u), u,
                       "cannot remove stale lock file " + file + " for port " + port_path + " (" + whose +
                           "): " + errno_text(u) + "; remove it by hand"};
    }
  }
  return PortError{PortErrorKind::in_use, EBUSY,
                   "port " + port_path + ": lock file " + file + " kept reappearing after " +
                       std::to_string(kMaxTakeovers) +
                       " stale-lock takeovers; another program is competing for the port — stop it and retry"};
}

PortLock::PortLock(PortLock&& other) noexcept : file_(std::move(other.file_)), pid_(other.pid_) {
  other.file_.clear();
}

PortLock& PortLock::operator=(PortLock&& other) noexcept {
  if (this != &other) {
    release();
    file_ = std::move(other.file_);
    pid_ = other.pid_;
    other.file_.clear();
  }
  return *this;
}

PortLock::~PortLock() { release(); }

void PortLock::release() noexcept {
  if (file_.empty()) return;
  // Only the process that took the lock removes it (not a forked child), and
  // only while the file is still ours (not replaced after a stale takeover).
  if (os().getpid() == pid_) {
    LockContent holder = read_lock(file_);
    if (holder.status == LockContent::present && holder.pid == pid_) os().unlink(file_.c_str());
  }
  file_.clear();
}

}  // namespace weft::serial
