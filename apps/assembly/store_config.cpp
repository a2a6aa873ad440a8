// [store]: the SQLite store's options (see weft/drivers/store/store.hpp).
//
//   [store]
//   path = "/var/lib/weft/readings.db"   # required
//   batch_rows = 500          # commit when this many readings are queued...
//   batch_age = "200ms"       # ...or when the oldest has waited this long
//   synchronous = "normal"    # normal (WAL default) or full (fsync every commit)
//   busy_deadline = "10s"     # another process holding the lock: retry this long before an error line
//   error_deadline = "10s"    # any other write error (read-only, I/O): retry this long, then give up on the file
//   queue_capacity = 100000   # readings held in memory; past it the oldest is dropped (counted, a gap)
//   retention = "30d"         # delete readings older than this ("0s": keep)
//   max_db_size = "64MiB"     # bytes or a size with a unit (KiB MiB GiB, kB MB GB); 0: no cap
//   ballast_bytes = "4MiB"    # kept free for a full file system (<path>.ballast); 0: none
//   background_check = true   # PRAGMA quick_check after each open, off the open's way
#include "weft/apps/assembly/store_config.hpp"

#include <string>

#include "weft/apps/assembly/config_size.hpp"

namespace weft::apps {

std::optional<store::StoreOptions> read_store_config(const ConfigSection& root) {
  const auto table = root.table("store");
  if (!table) return std::nullopt;
  const ConfigSection& s = *table;
  store::StoreOptions o;
  o.path = s.required_string("path");
  if (o.path.empty()) s.fail("path", "must not be empty; give the database file, e.g. /var/lib/weft/readings.db");
  o.batch_rows = static_cast<std::size_t>(s.integer("batch_rows", static_cast<std::int64_t>(o.batch_rows), 1, 100'000));
  o.batch_age = s.duration("batch_age", o.batch_age, std::chrono::milliseconds(1), std::chrono::minutes(10));
  const std::string sync = s.string("synchronous", "normal");
  if (sync == "normal") o.synchronous = store::StoreOptions::Synchronous::normal;
  else if (sync == "full") o.synchronous = store::StoreOptions::Synchronous::full;
  else s.fail("synchronous", "unknown mode '" + sync + "'; use \"normal\" (WAL default) or \"full\" (fsync every commit)");
  o.busy_deadline = s.duration("busy_deadline", o.busy_deadline, std::chrono::milliseconds(1), std::chrono::hours(1));
  o.error_deadline = s.duration("error_deadline", o.error_deadline, std::chrono::milliseconds(1), std::chrono::hours(1));
  o.queue_capacity = static_cast<std::size_t>(
      s.integer("queue_capacity", static_cast<std::int64_t>(o.queue_capacity), 1, 100'000'000));
  o.retention = s.duration("retention", o.retention);
  o.max_db_size = read_size(s, "max_db_size", 0);
  if (o.max_db_size != 0 && o.max_db_size < 64 * 1024)
    s.fail("max_db_size", "is below 64KiB: too small to hold a batch; give at least 64KiB (or 0 for no cap)");
  if (s.has("ballast_bytes")) {
    o.ballast_bytes = read_size(s, "ballast_bytes", 0);
    if (o.ballast_bytes != 0 && (o.ballast_bytes < (1u << 20) || o.ballast_bytes > (std::uint64_t{1} << 30)))
      s.fail("ballast_bytes", "must be 0 (no ballast) or from 1MiB to 1GiB; below 1MiB it may not hold what a "
                              "prune and a checkpoint need on a full file system (the default is 4MiB)");
  }
  o.background_check = s.boolean("background_check", o.background_check);
  s.reject_unknown_keys();
  return o;
}

}  // namespace weft::apps
