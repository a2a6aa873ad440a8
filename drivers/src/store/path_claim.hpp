// One writer per database file in this process. Two Store objects on the
// same file (a [store] change swaps the record service's Store for a new
// one on the same path) must not both hold it open: the new one would read
// the seq mark while the old one still commits inside its reservation, and
// record those seqs as a gap that then holds rows. So a writer claims the
// path before it reads the mark and releases it after its clean close (or
// when it gives up on the file); a second claim waits for the release,
// bounded. Any thread; the wait is on the writer thread, never the loop.
#pragma once

#include <chrono>
#include <string>

namespace weft::store {

class PathClaim {
public:
  // Waits until no other claim holds `db_path` (the same file by its
  // absolute, normalised name), at most `limit`; false on timeout (nothing
  // is then held).
  bool acquire(const std::string& db_path, std::chrono::steady_clock::duration limit);
  void release() noexcept;  // idempotent
  bool held() const noexcept { return !key_.empty(); }

  PathClaim() = default;
  ~PathClaim() { release(); }
  PathClaim(const PathClaim&) = delete;
  PathClaim& operator=(const PathClaim&) = delete;

private:
  std::string key_;  // the claimed path; empty: none
};

}  // namespace weft::store
