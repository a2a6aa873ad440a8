// open_locked: see locked_file.hpp. The order is open, lock, then check the
// path still names what we locked: a claimer that moved or removed the file
// between our open and our lock leaves us holding a lock on a file nobody
// else will ever find under that path, so that lock is dropped and (when we
// may create) the open tried again.
#include "weft/core/locked_file.hpp"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace weft {
namespace {

constexpr int kAttempts = 8;  // only a file replaced again and again under us runs out

std::string errno_text(int e) { return std::strerror(e); }

struct flock whole_file(LockKind kind) {
  struct flock fl {};
  fl.l_type = kind == LockKind::exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;  // l_start 0, l_len 0: the whole file, however it grows
  fl.l_pid = 0;            // must be 0 for OFD locks
  return fl;
}

std::string describe_holder(int fd, const std::string& path, LockKind kind) {
  struct flock fl = whole_file(kind);
  struct stat st {};
  const std::string inode = ::fstat(fd, &st) == 0 ? std::to_string(st.st_ino) : std::string("?");
  const std::string what = path + " is locked by another open file";
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type == F_UNLCK)
    return what + " (its lock went away as we looked: try again)";
  const char* type = fl.l_type == F_WRLCK ? "an exclusive" : "a shared";
  if (fl.l_pid > 0)
    return path + " is locked by process " + std::to_string(fl.l_pid) + " (" + type + " POSIX fcntl lock)";
  // OFD locks have no owning process; F_OFD_GETLK reports pid -1.
  return what + " (" + type + " open-file-description lock, whose holder the kernel does not name; `lslocks` lists "
                "it as inode " + inode + ", perhaps in this very process)";
}

}  // namespace

LockedFile::LockedFile(LockedFile&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}

LockedFile& LockedFile::operator=(LockedFile&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
  }
  return *this;
}

LockedFile::~LockedFile() { close(); }

void LockedFile::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

LockedFile open_locked(const std::string& path, int flags, LockKind kind, LockError& error, mode_t mode) {
  error = {};
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    int fd = -1;
    do fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      const int e = errno;
      error = {e, "cannot open " + path + ": " + errno_text(e)};
      return {};
    }
    struct flock fl = whole_file(kind);
    if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
      const int e = errno;
      if (e == EAGAIN || e == EACCES) error = {EAGAIN, describe_holder(fd, path, kind)};
      else error = {e, "cannot lock " + path + ": " + errno_text(e)};
      ::close(fd);
      return {};
    }
    struct stat mine {}, named {};
    if (::fstat(fd, &mine) != 0) {
      const int e = errno;
      ::close(fd);
      error = {e, "cannot stat " + path + " after locking it: " + errno_text(e)};
      return {};
    }
    const bool still_there = ::stat(path.c_str(), &named) == 0;
    if (still_there && named.st_dev == mine.st_dev && named.st_ino == mine.st_ino && mine.st_nlink > 0)
      return LockedFile(fd, path);
    ::close(fd);  // moved or removed under us: what we locked is not `path` any more
    if ((flags & O_CREAT) == 0 && !still_there) {
      error = {ENOENT, "cannot lock " + path + ": it was moved or removed as we locked it"};
      return {};
    }
  }
  error = {EBUSY, "cannot lock " + path + ": it was replaced " + std::to_string(kAttempts) +
                       " times as we locked it"};
  return {};
}

}  // namespace weft
