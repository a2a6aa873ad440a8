// Deleting the oldest readings, with the lost ones recorded: see prune.hpp.
#include "prune.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <sqlite3.h>

namespace weft::store {
namespace {

// Deletes every reading with seq <= up_to; the undelivered ones become lost
// ranges (runs of consecutive seqs) with `why`.
PruneCount prune_up_to(sql::Db& db, RowWriter& rows, const RangeSet& delivered, std::uint64_t up_to,
                       std::string_view why) {
  PruneCount count;
  sql::Statement select(db, "SELECT seq FROM readings WHERE seq <= ?1 ORDER BY seq");
  select.bind(1, static_cast<std::int64_t>(up_to));
  std::vector<RangeSet::Range> lost;
  while (select.step()) {
    const auto seq = static_cast<std::uint64_t>(select.int64(0));
    if (delivered.contains(seq)) {
      ++count.delivered;
      continue;
    }
    ++count.undelivered;
    if (!lost.empty() && lost.back().second + 1 == seq) lost.back().second = seq;
    else lost.emplace_back(seq, seq);
  }
  select.reset();
  for (const auto& [first, last] : lost) rows.add_lost(first, last, why);
  sql::Statement del(db, "DELETE FROM readings WHERE seq <= ?1");
  del.bind(1, static_cast<std::int64_t>(up_to)).run();
  return count;
}

}  // namespace

PruneCount prune_oldest_delivered(sql::Db& db, const RangeSet& delivered, std::size_t max_rows) {
  PruneCount count;
  sql::Statement pick(db, "SELECT count(*), max(seq) FROM "
                          "(SELECT seq FROM readings WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq LIMIT ?3)");
  sql::Statement del(db, "DELETE FROM readings WHERE seq BETWEEN ?1 AND ?2");
  for (const auto& [first, last] : delivered.ranges()) {
    if (count.delivered >= max_rows) break;
    pick.reset();
    pick.bind(1, static_cast<std::int64_t>(first)).bind(2, static_cast<std::int64_t>(last));
    pick.bind(3, static_cast<std::int64_t>(max_rows - count.delivered));
    if (!pick.step() || pick.int64(0) == 0) continue;
    const std::int64_t n = pick.int64(0);
    const std::int64_t top = pick.int64(1);
    pick.reset();
    del.bind(1, static_cast<std::int64_t>(first)).bind(2, top).run();
    count.delivered += static_cast<std::uint64_t>(n);
  }
  return count;
}

PruneCount prune_oldest(sql::Db& db, RowWriter& rows, const RangeSet& delivered, std::size_t max_rows,
                        std::string_view why) {
  if (max_rows == 0) return {};
  sql::Statement pick(db, "SELECT max(seq) FROM (SELECT seq FROM readings ORDER BY seq LIMIT ?1)");
  pick.bind(1, static_cast<std::int64_t>(max_rows));
  if (!pick.step() || pick.column_type(0) == SQLITE_NULL) return {};
  const auto up_to = static_cast<std::uint64_t>(pick.int64(0));
  pick.reset();
  return prune_up_to(db, rows, delivered, up_to, why);
}

PruneCount prune_expired(sql::Db& db, RowWriter& rows, const RangeSet& delivered, std::int64_t now_wall_ns,
                         std::int64_t retention_ns, std::size_t max_rows) {
// A row's wall time corrected by the latest clock event of its boot (one literal: SQL text is not built at run time).
#define WEFT_CORRECTED_WALL                                                                              \
  "coalesce(r.mono_ns + (SELECT c.offset_ns FROM clock_events c WHERE c.boot = r.boot ORDER BY c.mono_ns " \
  "DESC LIMIT 1), r.wall_ns)"
  sql::Statement newest(db, "SELECT " WEFT_CORRECTED_WALL " FROM readings r ORDER BY r.seq DESC LIMIT 1");
  if (!newest.step()) return {};
  const std::int64_t now = std::min(now_wall_ns, newest.int64(0));
  newest.reset();
  const std::int64_t cutoff_wall_ns = now - retention_ns;
  sql::Statement scan(db, "SELECT r.seq, " WEFT_CORRECTED_WALL " FROM readings r ORDER BY r.seq LIMIT ?1");
#undef WEFT_CORRECTED_WALL
  scan.bind(1, static_cast<std::int64_t>(max_rows));
  std::optional<std::uint64_t> up_to;
  while (scan.step()) {
    if (scan.int64(1) >= cutoff_wall_ns) break;
    up_to = static_cast<std::uint64_t>(scan.int64(0));
  }
  scan.reset();
  if (!up_to) return {};
  return prune_up_to(db, rows, delivered, *up_to, "pruned (retention)");
}

DbSize measure(sql::Db& db) {
  DbSize s;
  s.page_size = static_cast<std::uint64_t>(db.query_int("PRAGMA page_size"));
  s.page_count = static_cast<std::uint64_t>(db.query_int("PRAGMA page_count"));
  s.free_pages = static_cast<std::uint64_t>(db.query_int("PRAGMA freelist_count"));
  return s;
}

void shrink(sql::Db& db, std::uint64_t keep_free_bytes) {
  const DbSize s = measure(db);
  const std::uint64_t keep_pages = s.page_size ? keep_free_bytes / s.page_size : 0;
  if (s.free_pages <= keep_pages) return;
  // incremental_vacuum returns one row per page freed: step through them.
  sql::Statement vacuum(db, "PRAGMA incremental_vacuum(" + std::to_string(s.free_pages - keep_pages) + ")");
  while (vacuum.step()) {
  }
}

}  // namespace weft::store
