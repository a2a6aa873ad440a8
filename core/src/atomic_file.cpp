// atomic_replace: see atomic_file.hpp.
#include "weft/core/atomic_file.hpp"

#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace weft {
namespace {

int write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

}  // namespace

AtomicWriteError atomic_replace(const std::string& path, std::string_view text) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return {errno, "create", temp};
  AtomicWriteError failed;
  if (int err = write_all(fd, text)) failed = {err, "write", temp};
  else if (::fsync(fd) != 0) failed = {errno, "fsync", temp};
  ::close(fd);
  if (!failed && ::rename(temp.c_str(), path.c_str()) != 0) failed = {errno, "rename", temp};
  if (failed) {
    ::unlink(temp.c_str());
    return failed;
  }
  // Not `dir = "."` after the fact: GCC 12 -O2 warns falsely (-Wstringop-overflow) on that.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  if (int err = fsync_directory(dir)) return {err, "fsync the directory of", dir};
  return {};
}

}  // namespace weft
