// UUCP lock files, with takeover of stale locks that cannot lose a live one.
//
// Rules (every weft process follows them; "the guard" is LockDirGuard, an
// flock(2) on the lock directory):
//   1. A lock file is created only by link(2) of a complete private temp
//      file: it appears whole or not at all, and only where none exists.
//   2. A lock file is removed or replaced only under the guard, or by its
//      owner while the owner still has the device open (PortLock::release).
//   3. Under the guard, a lock is judged afresh from what the file says now;
//      it is live iff its PID is alive, is not this process (unless this
//      process holds that file through a PortLock: the registry below), and
//      has the device open (/proc/PID/fd, matched by st_rdev, or st_dev and
//      st_ino for a non-device), or cannot be checked (EACCES). Otherwise it
//      is stale, and is unlinked and replaced by ours (link, rule 1).
//   4. open_exclusive() holds the guard from taking the lock until the
//      device is open, so a weft holder is never seen "alive but not holding
//      the device" (rule 3 would call that stale).
// Why two takeovers cannot delete each other's lock: takeovers are
// serialised by the guard (rule 3), so the second one to run re-reads the
// file and finds the first one's lock. Between its read and its unlink the
// file cannot change: creation needs the name free (rule 1), other
// takeovers wait for the guard, and its holder cannot release it
// unguarded, because rule 2 only lets a holder release while it has the
// device open, and then rule 3 would have judged the lock live. Programs
// that do not take the guard (minicom's own stale check) can still race
// with us; nothing in the UUCP convention can prevent that.
#include "weft/drivers/serial/port_lock.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "weft/drivers/serial/os_seam.hpp"

namespace weft::serial {
namespace {

constexpr int kMaxTakeovers = 5;  // stale locks removed before giving up (programs outside the guard)
constexpr int kMaxTempTries = 3;  // leftover temp files (a previous process with our PID) replaced

std::string errno_text(int e) { return std::system_category().message(e); }

PortErrorKind kind_for_dir_errno(int e) {
  return (e == EACCES || e == EPERM || e == EROFS) ? PortErrorKind::permission : PortErrorKind::lock_dir;
}

// The lock files this process holds through a live PortLock, with the PID
// written into each (a forked child inherits the set but not the PID): a
// lock naming our own PID is ours only if it is in here.
struct Registry {
  std::mutex mutex;
  std::set<std::pair<std::string, int>> held;
};
Registry& registry() {
  static Registry r;
  return r;
}
bool registered(const std::string& file, int pid) {
  std::lock_guard lock(registry().mutex);
  return registry().held.count({file, pid}) != 0;
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

bool same_file(const struct stat& a, const struct stat& b) {
  if (S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode))
    return (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT) && a.st_rdev == b.st_rdev;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whether `pid` has `device` open, by its /proc/PID/fd links.
enum class Holds { yes, no, gone, unknown };
struct HoldsAnswer {
  Holds answer;
  std::string why;  // unknown: what could not be checked
};

HoldsAnswer holds_device(int pid, const std::string& port_path) {
  const OsCalls& sys = os();
  struct stat device {};
  if (sys.stat(port_path.c_str(), &device) != 0) {
    int e = errno;
    return {Holds::unknown, "cannot stat " + port_path + ": " + errno_text(e)};
  }
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = sys.opendir(fd_dir.c_str());
  if (dir == nullptr) {
    int e = errno;
    if (e == ENOENT && !process_alive(pid)) return {Holds::gone, {}};
    return {Holds::unknown, fd_dir + ": " + errno_text(e)};
  }
  HoldsAnswer result{Holds::no, {}};
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    const std::string link = fd_dir + "/" + entry->d_name;
    struct stat open_file {};
    if (sys.stat(link.c_str(), &open_file) != 0) {
      int e = errno;
      if (e == ENOENT) continue;  // closed meanwhile
      // The directory may list while its links stay unreadable (another
      // user namespace, ptrace rules): then this fd cannot be checked.
      result = {Holds::unknown, link + ": " + errno_text(e)};
      continue;
    }
    if (same_file(open_file, device)) {
      result = {Holds::yes, {}};
      break;
    }
  }
  ::closedir(dir);
  return result;
}

struct Judgement {
  bool live = false;
  std::string detail;  // live: appended to "in use by PID p (lock file F)"; stale: why it is stale
};

Judgement judge(const LockContent& holder, const std::string& file, const std::string& port_path, int self) {
  if (!holder.pid) return {false, "it does not contain a PID"};
  const int pid = *holder.pid;
  const std::string who = "PID " + std::to_string(pid);
  if (pid == self) {
    if (registered(file, self)) return {true, ", which is this process (is the port configured twice?)"};
    return {false, "it names this process's own PID " + std::to_string(pid) +
                       ", but this process does not hold it (left by an earlier process with the same PID)"};
  }
  if (!process_alive(pid)) return {false, who + " is not running"};
  HoldsAnswer holds = holds_device(pid, port_path);
  switch (holds.answer) {
    case Holds::yes: return {true, ""};
    case Holds::gone: return {false, who + " is not running"};
    case Holds::no: return {false, who + " is running but does not have " + port_path + " open"};
    case Holds::unknown:
      return {true, ", and whether " + who + " has the port open cannot be checked (" + holds.why +
                        "), so the lock is honoured; if that process does not use the port, remove the lock file"};
  }
  return {true, ""};
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

PortResult<LockDirGuard> LockDirGuard::take(const std::string& lock_dir, const std::string& port_path) {
  const OsCalls& sys = os();
  int fd = sys.open(lock_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    std::string hint = e == ENOENT ? "create the directory or configure another lock dir"
                                   : "give this user access to it or configure another lock dir";
    return PortError{kind_for_dir_errno(e), e,
                     "cannot open the lock dir " + lock_dir + " for port " + port_path + ": " + errno_text(e) +
                         "; " + hint};
  }
  // Critical sections last microseconds (a few ms with a device open in
  // them), so poll rather than block: the wait stays bounded.
  for (int waited_ms = 0;; ++waited_ms) {
    if (sys.flock(fd, LOCK_EX | LOCK_NB) == 0) return LockDirGuard(fd);
    int e = errno;
    if (e == EINTR) continue;
    if (e != EWOULDBLOCK || waited_ms >= kWaitMs) {
      sys.close(fd);
      return PortError{PortErrorKind::lock_dir, e,
                       "cannot lock the lock dir " + lock_dir + " for port " + port_path + " (flock: " +
                           errno_text(e) + (e == EWOULDBLOCK ? ", still held after " + std::to_string(kWaitMs) + " ms" : "") +
                           "); another process holds it, find it with `fuser " + lock_dir + "`"};
    }
    const timespec one_ms{0, 1'000'000};
    ::nanosleep(&one_ms, nullptr);
  }
}

LockDirGuard::LockDirGuard(LockDirGuard&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

LockDirGuard::~LockDirGuard() {
  if (fd_ >= 0) os().close(fd_);  // closing the last fd of the description drops the flock
}

PortResult<PortLock> PortLock::acquire(const std::string& port_path, const std::string& lock_dir) {
  auto guard = LockDirGuard::take(lock_dir, port_path);
  if (!guard) return guard.error();
  return acquire(port_path, lock_dir, guard.value());
}

PortResult<PortLock> PortLock::acquire(const std::string& port_path, const std::string& lock_dir,
                                       const LockDirGuard& /*held: the proof that we run under the guard*/) {
  const OsCalls& sys = os();
  const int pid = sys.getpid();
  const std::string file = lock_file_path(port_path, lock_dir);

  auto tmp = write_temp(port_path, lock_dir, pid);
  if (!tmp) return tmp.error();
  struct RemoveTemp {
    const std::string& path;
    ~RemoveTemp() { os().unlink(path.c_str()); }
  } remove_temp{tmp.value()};

  std::string note;
  for (int takeovers = 0; takeovers <= kMaxTakeovers; ++takeovers) {
    if (sys.link(tmp.value().c_str(), file.c_str()) == 0) return PortLock(file, pid, std::move(note));
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
    Judgement verdict = judge(holder, file, port_path, pid);
    if (verdict.live)
      return PortError{PortErrorKind::in_use, EBUSY,
                       "port " + port_path + " is in use by PID " + std::to_string(*holder.pid) + " (lock file " +
                           file + ")" + verdict.detail + "; stop that process or choose another port"};

    // Stale (rule 3): the file is still what we judged, as nobody else may change it now.
    if (sys.unlink(file.c_str()) != 0 && errno != ENOENT) {
      int u = errno;
      return PortError{kind_for_dir_errno(u), u,
                       "cannot remove stale lock file " + file + " for port " + port_path + " (" + verdict.detail +
                           "): " + errno_text(u) + "; remove it by hand"};
    }
    note = "took over stale lock file " + file + ": " + verdict.detail;
  }
  return PortError{PortErrorKind::in_use, EBUSY,
                   "port " + port_path + ": lock file " + file + " kept reappearing after " +
                       std::to_string(kMaxTakeovers) +
                       " stale-lock takeovers; another program is competing for the port — stop it and retry"};
}

PortLock::PortLock(std::string file, int pid, std::string stale_note)
    : file_(std::move(file)), pid_(pid), stale_note_(std::move(stale_note)) {
  std::lock_guard lock(registry().mutex);
  registry().held.insert({file_, pid_});
}

PortLock::PortLock(PortLock&& other) noexcept
    : file_(std::move(other.file_)), pid_(other.pid_), stale_note_(std::move(other.stale_note_)) {
  other.file_.clear();
}

PortLock& PortLock::operator=(PortLock&& other) noexcept {
  if (this != &other) {
    release();
    file_ = std::move(other.file_);
    pid_ = other.pid_;
    stale_note_ = std::move(other.stale_note_);
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
    std::lock_guard lock(registry().mutex);
    registry().held.erase({file_, pid_});
  }
  file_.clear();
}

}  // namespace weft::serial
