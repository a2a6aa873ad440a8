// Making room: retention by age, the size cap and a full disk all delete
// the oldest readings. Rows already delivered go first when the caller asks
// (size cap, disk full); an undelivered row deleted is recorded as a lost
// range with why, so the ledger never forgets it. Every function runs
// inside the caller's write transaction on the writer connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "range_set.hpp"
#include "rows.hpp"
#include "sqlite_db.hpp"

namespace weft::store {

struct PruneCount {
  std::uint64_t delivered = 0;
  std::uint64_t undelivered = 0;  // lost
  std::uint64_t total() const noexcept { return delivered + undelivered; }
};

// Up to `max_rows` of the oldest delivered readings.
PruneCount prune_oldest_delivered(sql::Db& db, const RangeSet& delivered, std::size_t max_rows);
// Up to `max_rows` of the oldest readings, delivered or not.
PruneCount prune_oldest(sql::Db& db, RowWriter& rows, const RangeSet& delivered, std::size_t max_rows,
                        std::string_view why);
// Up to `max_rows` of the oldest readings whose corrected wall time is
// more than `retention_ns` before now (stops at the first younger one, in
// seq order). "Now" is the earlier of `now_wall_ns` and the newest row's
// corrected time: both sides in the rows' own frame, so a wall clock that
// jumped ahead before its clock event was stored cannot expire them all.
PruneCount prune_expired(sql::Db& db, RowWriter& rows, const RangeSet& delivered, std::int64_t now_wall_ns,
                         std::int64_t retention_ns, std::size_t max_rows);

struct DbSize {
  std::uint64_t page_size = 0;
  std::uint64_t page_count = 0;
  std::uint64_t free_pages = 0;
  std::uint64_t file_bytes() const noexcept { return page_size * page_count; }
  std::uint64_t used_bytes() const noexcept { return page_size * (page_count - free_pages); }
};
DbSize measure(sql::Db& db);

// Returns free pages beyond `keep_free_bytes` to the file system
// (auto_vacuum = INCREMENTAL), so the file shrinks after a prune.
void shrink(sql::Db& db, std::uint64_t keep_free_bytes);

}  // namespace weft::store
