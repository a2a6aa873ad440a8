// Single instance per data dir: <data_dir>/weftd.lock is opened and
// flock()ed (exclusive, non-blocking) and our PID written into it. The
// kernel drops the lock when the process dies however it dies, so a stale
// file never blocks a restart; the PID inside only names the holder in the
// error. Writing the PID needs no new block while the file has content; if
// it fails anyway (a full disk and an empty file), the lock still holds and
// pid_error() says so. Blocking I/O: take it before the loop runs.
#pragma once

#include <stdexcept>
#include <string>

namespace weft {

// Another process holds the data dir. what() names its PID and the lock file.
class DataDirBusyError : public std::runtime_error {
public:
  DataDirBusyError(const std::string& message, long holder_pid)
      : std::runtime_error(message), holder_pid_(holder_pid) {}
  long holder_pid() const noexcept { return holder_pid_; }  // 0 if unknown

private:
  long holder_pid_;
};

class DataDirLock {
public:
  static constexpr const char* kFileName = "weftd.lock";

  // Creates `dir` (and parents) if missing, then locks it. Throws
  // DataDirBusyError if another process (or another lock in this process)
  // holds it, std::runtime_error naming the path for any other failure.
  explicit DataDirLock(const std::string& dir);
  ~DataDirLock();  // releases the lock (the file stays; its content is stale)
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  const std::string& path() const noexcept { return path_; }
  // Empty, or why our PID is not in the file (the lock holds regardless).
  const std::string& pid_error() const noexcept { return pid_error_; }

private:
  std::string path_;
  std::string pid_error_;
  int fd_ = -1;
};

}  // namespace weft
