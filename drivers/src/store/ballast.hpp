// A ballast file beside the database (<db>.ballast, a few MiB of allocated
// blocks). On a really full file system (ENOSPC, not max_page_count) the
// store cannot prune: a DELETE and a checkpoint need free blocks too, so
// nothing would ever commit again. Releasing the ballast gives them that
// room; it is made again once pruning has freed enough (its size plus
// `slack`). Plain POSIX calls, on the writer thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weft::store {

class Ballast {
public:
  Ballast(const std::string& db_path, std::uint64_t bytes);

  std::uint64_t bytes() const noexcept { return bytes_; }
  const std::string& path() const noexcept { return path_; }
  bool present() const;
  // Makes it if absent and the file system has room for it plus `slack`
  // (blocks allocated with posix_fallocate, or written where that is not
  // supported). True if it is there afterwards. Never throws.
  bool ensure(std::uint64_t slack);
  // Why the last ensure() found no ballast and could not make one.
  const std::string& why_not() const noexcept { return why_not_; }
  // Unlinks it; true if it was there.
  bool release();
  // Bytes this process can still allocate in the database's directory
  // (statvfs: f_bavail, or f_bfree for root), nullopt if statvfs fails.
  std::optional<std::uint64_t> free_bytes() const;

private:
  std::string dir_;
  std::string path_;
  std::uint64_t bytes_;
  std::string why_not_;
};

}  // namespace weft::store
