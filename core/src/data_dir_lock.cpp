// Data-dir lock: open + flock(LOCK_EX|LOCK_NB) on one descriptor, then the
// PID written over the file's content in place and the file cut to it, so
// that on a full disk nothing needs a new block once the file has content
// (every start but the first). The lock never depends on the PID write.
// flock locks belong to the open file description, so a second lock in the
// same process conflicts too.
#include "weft/core/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace weft {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

long read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  return std::strtol(buf, nullptr, 10);
}

}  // namespace

DataDirLock::DataDirLock(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("data dir " + dir + ": cannot create it: " + ec.message() +
                             "; set [weftd] data_dir to a writable directory");
  path_ = (std::filesystem::path(dir) / kFileName).string();
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("data dir lock " + path_ + ": cannot open it: " + errno_text(errno) +
                             "; set [weftd] data_dir to a writable directory");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    const long holder = e == EWOULDBLOCK ? read_pid(fd_) : 0;
    ::close(fd_);
    fd_ = -1;
    if (e != EWOULDBLOCK)
      throw std::runtime_error("data dir lock " + path_ + ": cannot lock it: " + errno_text(e));
    const std::string who = holder > 0 ? "weftd PID " + std::to_string(holder)
                                       : "another process (its PID is not in the lock file: not written yet, or "
                                         "its disk was full)";
    throw DataDirBusyError("data dir " + dir + " is in use by " + who + " (lock file " + path_ +
                               "); stop that weftd first, or give this one another [weftd] data_dir",
                           holder);
  }
  // Write first, then cut: shrinking never needs space, and an overwrite in
  // place needs none while the file's block exists. If it fails, an empty
  // file is better than a stale PID naming someone else.
  const std::string pid = std::to_string(::getpid()) + "\n";
  const ssize_t n = ::pwrite(fd_, pid.data(), pid.size(), 0);
  if (n != static_cast<ssize_t>(pid.size())) {
    pid_error_ = "cannot write our PID into " + path_ + ": " + (n < 0 ? errno_text(errno) : "short write") +
                 "; the lock holds, but a second weftd cannot name us";
    if (::ftruncate(fd_, 0) != 0) pid_error_ += " (and the old content could not be cleared)";
  } else if (::ftruncate(fd_, static_cast<off_t>(pid.size())) != 0) {
    pid_error_ = "cannot cut " + path_ + " to our PID: " + errno_text(errno);
  }
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace weft
