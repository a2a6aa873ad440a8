// How readings, clock events and ranges map to rows. RowWriter holds the
// writer connection's prepared statements and the interned point and boot
// ids (cached; entries added in a transaction that rolls back are
// forgotten). read_reading() decodes a row of kSelectReading (reader side).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sqlite_db.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::store {

class RowWriter {
public:
  explicit RowWriter(sql::Db& db);

  void insert_reading(std::uint64_t seq, const Reading& r);
  void insert_clock_event(const BootId& boot, std::int64_t mono_ns, std::int64_t offset_ns);
  void insert_put(const PutRecord& p);
  void trim_puts(std::int64_t keep);  // deletes all but the newest `keep` put-log rows
  // Records [first, last] as lost with `why`, merged with an adjacent
  // earlier range of the same why.
  void add_lost(std::uint64_t first, std::uint64_t last, std::string_view why);
  // Replaces every delivered row inside [first, last] by that one range
  // (the caller passes the merged range).
  void put_delivered(std::uint64_t first, std::uint64_t last);

  // After the enclosing transaction: keep or forget ids interned in it.
  void committed();
  void rolled_back();

private:
  std::int64_t point_id(const std::string& name);
  std::int64_t boot_row(const BootId& boot);

  sql::Db& db_;
  sql::Statement insert_reading_, find_point_, insert_point_, find_boot_, insert_boot_, insert_clock_,
      last_lost_, extend_lost_, insert_lost_, delete_delivered_, insert_delivered_, insert_put_, trim_puts_;
  std::unordered_map<std::string, std::int64_t> points_;
  // Boots by their bytes (a process writes one, so this is one entry; no
  // uuid text is formatted per row).
  std::vector<std::pair<BootId, std::int64_t>> boots_;
  std::vector<std::string> new_points_;  // interned in the open transaction
  std::vector<BootId> new_boots_;
};

// Columns: seq, point name, kind, value, quality, mono_ns, boot uuid, wall_ns, corrected wall.
// Append a WHERE/ORDER/LIMIT clause over `r`.
inline constexpr std::string_view kSelectReading =
    "SELECT r.seq, p.name, r.kind, r.value, r.quality, r.mono_ns, b.boot_id, r.wall_ns, "
    "coalesce(r.mono_ns + (SELECT c.offset_ns FROM clock_events c WHERE c.boot = r.boot "
    "ORDER BY c.mono_ns DESC LIMIT 1), r.wall_ns) "
    "FROM readings r JOIN points p ON p.id = r.point JOIN boots b ON b.id = r.boot ";

StoredReading read_reading(const sql::Statement& row);

}  // namespace weft::store
