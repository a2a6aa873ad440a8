// Open + lock as one step: a file opened and locked with an open file
// description lock (fcntl F_OFD_SETLK, whole file, never waiting). Unlike a
// POSIX fcntl lock, an OFD lock belongs to the open file, not the process:
// two opens in one process conflict like two processes do, closing some
// other descriptor of the same file does not drop it, and it goes when the
// last descriptor of this open closes (or the process dies, however it
// dies). After locking, the path is checked to still name the locked file,
// so a file renamed or removed between the open and the lock is never
// returned as locked. Blocking syscalls: off the loop thread (ctx.blocking).
#pragma once

#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/types.h>

namespace weft {

enum class LockKind { shared, exclusive };

struct LockError {
  int err = 0;          // 0: locked. EAGAIN: another open holds a conflicting lock (busy()).
  std::string message;  // what, where and what is known of the holder
  explicit operator bool() const noexcept { return err != 0; }
  bool busy() const noexcept { return err == EAGAIN; }
};

// Move-only owner of a locked descriptor; closing it releases the lock.
class LockedFile {
public:
  LockedFile() = default;
  LockedFile(LockedFile&& o) noexcept;
  LockedFile& operator=(LockedFile&& o) noexcept;
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;
  ~LockedFile();

  explicit operator bool() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  void close() noexcept;  // releases the lock now

private:
  friend LockedFile open_locked(const std::string&, int, LockKind, LockError&, mode_t);
  LockedFile(int fd, std::string path) noexcept : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// Opens `path` with `flags` (O_CLOEXEC is added; an exclusive lock needs
// O_WRONLY or O_RDWR) and locks it. On failure returns an empty LockedFile
// and fills `error`: busy (EAGAIN), with the holder named as far as the
// kernel says (an OFD lock's holder has no pid: the message says so and
// that `lslocks` names it), or the failed open/lock/stat with its errno.
LockedFile open_locked(const std::string& path, int flags, LockKind kind, LockError& error, mode_t mode = 0644);

}  // namespace weft
