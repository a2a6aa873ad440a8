// The ballast file: see ballast.hpp.
#include "ballast.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <vector>

namespace weft::store {

Ballast::Ballast(const std::string& db_path, std::uint64_t bytes) : path_(db_path + ".ballast"), configured_(bytes), bytes_(bytes) {
  const std::filesystem::path p(db_path);
  dir_ = p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

bool Ballast::present() const {
  struct stat st{};
  return bytes_ > 0 && ::stat(path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= bytes_;
}

std::optional<std::uint64_t> Ballast::free_bytes() const {
  struct statvfs fs{};
  if (::statvfs(dir_.c_str(), &fs) != 0) return std::nullopt;
  // root may also use the blocks reserved for it (ext4's 5 %): counting
  // only f_bavail would make the store prune those too before it sees room.
  const auto blocks = ::geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
  return static_cast<std::uint64_t>(blocks) * fs.f_frsize;
}

std::optional<std::uint64_t> Ballast::file_system_bytes() const {
  struct statvfs fs{};
  if (::statvfs(dir_.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
}

bool Ballast::fit_to_file_system() {
  bytes_ = configured_;
  if (const auto total = file_system_bytes(); total && *total / 4 < bytes_) bytes_ = *total / 4;
  return bytes_ < configured_;
}

bool Ballast::ensure(std::uint64_t slack) {
  if (bytes_ == 0) return false;
  if (present()) return true;
  const auto free = free_bytes();
  if (!free) {
    why_not_ = std::string("statvfs: ") + std::strerror(errno);
    return false;
  }
  if (*free < bytes_ + slack) {
    why_not_ = std::to_string(*free / 1024) + " KiB free, " + std::to_string((bytes_ + slack) / 1024) + " KiB needed";
    return false;
  }
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    why_not_ = tmp + ": " + std::strerror(errno);
    return false;
  }
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
  if (rc == EOPNOTSUPP || rc == EINVAL) {  // no fallocate here: write the blocks
    rc = 0;
    const std::vector<char> zeros(64 * 1024, '\0');
    for (std::uint64_t done = 0; done < bytes_ && rc == 0;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), bytes_ - done));
      const ssize_t w = ::write(fd, zeros.data(), n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) rc = errno ? errno : EIO;
      else done += static_cast<std::uint64_t>(w);
    }
  }
  if (rc == 0 && ::close(fd) != 0) rc = errno;
  else if (rc != 0) ::close(fd);
  if (rc == 0 && ::rename(tmp.c_str(), path_.c_str()) != 0) rc = errno;
  if (rc != 0) {
    why_not_ = tmp + ": " + std::strerror(rc);
    ::unlink(tmp.c_str());
    return false;
  }
  why_not_.clear();
  return true;
}

std::uint64_t Ballast::size() const {
  struct stat st{};
  return ::stat(path_.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

bool Ballast::trim_to(std::uint64_t n) {
  if (size() <= n) return false;
  return ::truncate(path_.c_str(), static_cast<off_t>(n)) == 0;
}

bool Ballast::ensure_at_least(std::uint64_t n) {
  n = std::min(n, bytes_);
  if (n == 0) return false;
  if (size() >= n) return true;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(n));
  ::close(fd);
  if (rc == 0) return true;
  // No room (or no fallocate here): leave nothing half-made that looks like a reserve.
  ::unlink(path_.c_str());
  return false;
}

bool Ballast::release() {
  ::unlink((path_ + ".tmp").c_str());
  return ::unlink(path_.c_str()) == 0;
}

}  // namespace weft::store
