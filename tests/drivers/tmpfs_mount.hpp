// Test support: a tmpfs mounted at a directory for one test (root only;
// `mounted` false and `why` the errno text otherwise), detached on
// destruction even if the test fails with files still open there.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace weft::test {

struct Tmpfs {
  std::filesystem::path dir;
  bool mounted = false;
  std::string why;
  Tmpfs(const std::filesystem::path& at, const char* options) : dir(at) {
    std::filesystem::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options) == 0) mounted = true;
    else why = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
};

}  // namespace weft::test
