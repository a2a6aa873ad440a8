// The seq mark: a tiny file beside the database (<db>.seq) that makes seqs
// unique across power cuts. Before the writer commits any seq at or above
// `reserved_below`, it raises the mark by a block and writes it durably
// (temp file, fsync, rename, fsync the directory). So every seq that ever
// became visible (committed, so upload may have sent it) is below the mark
// on disk, whatever a power cut did to the database's unsynced WAL; the
// next open starts at the mark and records the unused rest as a gap.
// It also outlives a corrupt database that is moved aside (the last known
// seq). Not thread-safe: the writer thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weft::store {

struct SeqMark {
  std::uint64_t reserved_below = 1;     // no seq >= this was ever committed
  std::uint64_t delivered_through = 0;  // every seq <= this was delivered (as known when written; may lag)
};

std::string seq_mark_path(const std::string& db_path);

// The mark on disk; nullopt if there is none. A file that does not parse
// sets `problem` (and returns nullopt): the caller says so in the log.
std::optional<SeqMark> read_seq_mark(const std::string& db_path, std::string& problem);

// Writes the mark atomically and durably. Throws sql::SqliteError
// (SQLITE_READONLY for EROFS/EACCES, SQLITE_FULL for ENOSPC, else
// SQLITE_IOERR) with errno, so the writer classifies it like a database error.
void write_seq_mark(const std::string& db_path, const SeqMark& mark);

}  // namespace weft::store
