// atomic_replace, atomic_create: see atomic_file.hpp.
// Steps, each a place a kill may land: (1) create the temp O_EXCL, (2) write
// it whole, (3) fsync it, (4) rename it over the target (the instant the new
// content appears, whole), (5) fsync the directory (the rename is durable).
// A kill before (4) leaves the old file and a temp no reader looks at; a
// kill after it, the new file.
#include "weft/core/atomic_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <atomic>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "rename_no_replace.hpp"

namespace weft {
namespace {

// Temps of one process are told apart by this counter, so two threads
// writing the same file never share a temp.
std::atomic<unsigned long> g_temp_serial{0};

constexpr std::string_view kTempSuffix = ".tmp";

int write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    text.remove_prefix(static_cast<std::size_t>(n));  // a short write: go on with the rest
  }
  return 0;
}

int fsync_fd(int fd) {
  while (::fsync(fd) != 0)
    if (errno != EINTR) return errno;
  return 0;
}

int fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = fsync_fd(fd);
  ::close(fd);
  return err;
}

std::string directory_of(const std::string& path) {
  // Not `dir = "."` after the fact: GCC 12 -O2 warns falsely (-Wstringop-overflow) on that.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// "<pid>-<n>.tmp" -> pid, else 0.
long temp_writer_pid(std::string_view tail) {
  if (tail.size() <= kTempSuffix.size() || tail.substr(tail.size() - kTempSuffix.size()) != kTempSuffix) return 0;
  tail.remove_suffix(kTempSuffix.size());
  const std::size_t dash = tail.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == tail.size()) return 0;
  long pid = 0;
  for (std::size_t i = 0; i < tail.size(); ++i) {
    const char c = tail[i];
    if (i == dash) continue;
    if (c < '0' || c > '9') return 0;
    if (i < dash) {
      if (pid > 100'000'000) return 0;
      pid = pid * 10 + (c - '0');
    }
  }
  return pid;
}

bool process_gone(long pid) { return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

// Creates a fresh temp for `path`; fd or -errno. Our pid is in the name, so
// an existing file of that name is a leftover of a dead process that had
// our pid (reused): removed, and the create tried once more.
int create_temp(const std::string& path, std::string& temp) {
  temp = path + "." + std::to_string(::getpid()) + "-" + std::to_string(++g_temp_serial) + std::string(kTempSuffix);
  for (int attempt = 0;; ++attempt) {
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno == EINTR) continue;
    if (errno != EEXIST || attempt > 0) return -errno;
    ::unlink(temp.c_str());
  }
}

enum class Place { replace, create };

AtomicWriteError write_atomically(const std::string& path, std::string_view text, Place place) {
  std::string temp;
  const int fd = create_temp(path, temp);
  if (fd < 0) return {-fd, "create", temp};
  AtomicWriteError failed;
  if (int err = write_all(fd, text)) failed = {err, "write", temp};
  else if (int err = fsync_fd(fd)) failed = {err, "fsync", temp};
  ::close(fd);
  if (!failed) {
    const int err = place == Place::replace ? (::rename(temp.c_str(), path.c_str()) == 0 ? 0 : errno)
                                            : detail::rename_no_replace(temp.c_str(), path.c_str());
    if (err != 0) failed = {err, "rename", temp};
  }
  if (failed) {
    ::unlink(temp.c_str());
    return failed;
  }
  const std::string dir = directory_of(path);
  if (int err = fsync_directory(dir)) return {err, "fsync the directory of", dir};
  return {};
}

}  // namespace

std::string AtomicWriteError::message() const {
  if (err == 0) return {};
  return std::string("cannot ") + doing + " " + path + ": " + std::strerror(err);
}

AtomicWriteError atomic_replace(const std::string& path, std::string_view text) {
  AtomicWriteError e = write_atomically(path, text, Place::replace);
  if (!e) remove_abandoned_temps(directory_of(path), std::filesystem::path(path).filename().string());
  return e;
}

AtomicWriteError atomic_create(const std::string& path, std::string_view text) {
  return write_atomically(path, text, Place::create);
}

std::size_t remove_abandoned_temps(const std::string& dir, std::string_view target) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  const std::string prefix = target.empty() ? std::string() : std::string(target) + ".";
  std::size_t removed = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (!target.empty() && name.substr(0, prefix.size()) != prefix) continue;
    // The writer's "<pid>-<n>.tmp" follows the target's name, itself
    // "<anything>." when no target is given: find the last '.' before "-<n>.tmp".
    std::string_view tail = name.substr(prefix.size());
    if (target.empty()) {
      const std::size_t end = name.size() > kTempSuffix.size() ? name.size() - kTempSuffix.size() : 0;
      const std::size_t dot = end == 0 ? std::string_view::npos : name.rfind('.', end - 1);
      if (dot == std::string_view::npos || dot == 0) continue;
      tail = name.substr(dot + 1);
    }
    const long pid = temp_writer_pid(tail);
    if (pid <= 0 || pid == ::getpid() || !process_gone(pid)) continue;
    if (::unlinkat(::dirfd(d), e->d_name, 0) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

}  // namespace weft
