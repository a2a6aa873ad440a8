// Which file a path names right now (device and inode), so that a report
// about one file is not acted on for another: the writer moves a corrupt
// readings.db aside and starts a new one under the same name, while the
// reader's connection may still read the old one. Plain stat(2), any thread.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

namespace weft::store {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;

  static std::optional<FileId> of(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return FileId{st.st_dev, st.st_ino};
  }
};

}  // namespace weft::store
