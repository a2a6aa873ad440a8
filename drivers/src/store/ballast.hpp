// A ballast file beside the database (<db>.ballast, a few MiB of allocated
// blocks). On a really full file system (ENOSPC, not max_page_count) the
// store cannot prune: a DELETE and a checkpoint need free blocks too, so
// nothing would ever commit again. Trimming the ballast to a reserve
// gives the failed write room; releasing the reserve gives a prune room,
// and the reserve is taken back from what the prune freed. The whole
// ballast is made again only once space has freed up (its size plus
// `slack`), never by pruning for it. It takes at most a quarter of its
// file system (fit_to_file_system()): on a card smaller than the
// configured size plus half again, the configured one could never be
// made, and the store had no room to prune on it. Plain POSIX calls, on
// the writer thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weft::store {

class Ballast {
public:
  Ballast(const std::string& db_path, std::uint64_t bytes);

  // Its size: the configured one, or a quarter of the file system when that
  // is smaller (after fit_to_file_system()).
  std::uint64_t bytes() const noexcept { return bytes_; }
  std::uint64_t configured_bytes() const noexcept { return configured_; }
  // Sets bytes() to the configured size, at most a quarter of the file
  // system's size (statvfs f_blocks; unchanged if statvfs fails). True if
  // that is less than configured.
  bool fit_to_file_system();
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
  // Its size now (0: absent).
  std::uint64_t size() const;
  // Cuts it down to `n` bytes, giving the rest back to the file system;
  // true if that freed anything.
  bool trim_to(std::uint64_t n);
  // Makes it at least `n` bytes (not more than bytes()) if the file system
  // has the room: the reserve kept for pruning. True if it is that big.
  bool ensure_at_least(std::uint64_t n);
  // The file system's size in bytes (statvfs: f_blocks), nullopt if statvfs fails.
  std::optional<std::uint64_t> file_system_bytes() const;
  // Bytes this process can still allocate in the database's directory
  // (statvfs: f_bavail, or f_bfree for root), nullopt if statvfs fails.
  std::optional<std::uint64_t> free_bytes() const;

private:
  std::string dir_;
  std::string path_;
  std::uint64_t configured_;
  std::uint64_t bytes_;
  std::string why_not_;
};

}  // namespace weft::store
