// Versioned migrations of the store's schema. The schema (version 1):
//
//   points(id, name)                  point names, interned: a reading stores the id
//   boots(id, boot_id)                boot ids (uuid text), interned likewise
//   readings(seq, point, kind, value, quality, mono_ns, boot, wall_ns)
//                                     seq: the per-box delivery sequence number;
//                                     kind 0 double (NULL value = NaN), 1 int, 2 bool, 3 string,
//                                     4 array of doubles (JSON text; added within version 1, rows.cpp)
//   clock_events(boot, mono_ns, offset_ns)   wall - mono in effect from mono_ns on
//   delivered(first_seq, last_seq)    merged ranges acknowledged by the upload
//   lost(first_seq, last_seq, why)    ranges recorded but lost (dropped, pruned undelivered)
//   schema_version(version)           one row
//
// Additive, outside the version (migrations.hpp says why), each named by its table:
//   put_log(id, wall_ns, who, peer, pv, old_value, new_value, result)
//                                     every CA write, allowed or refused ("put_log")
#include "migrations.hpp"

#include <string>

#include "weft/drivers/store/store.hpp"

namespace weft::store {
namespace {

struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE points(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE boots(id INTEGER PRIMARY KEY, boot_id TEXT NOT NULL UNIQUE);
CREATE TABLE readings(
  seq INTEGER PRIMARY KEY,
  point INTEGER NOT NULL REFERENCES points(id),
  kind INTEGER NOT NULL,
  value,
  quality INTEGER NOT NULL,
  mono_ns INTEGER NOT NULL,
  boot INTEGER NOT NULL REFERENCES boots(id),
  wall_ns INTEGER NOT NULL);
CREATE TABLE clock_events(
  boot INTEGER NOT NULL REFERENCES boots(id),
  mono_ns INTEGER NOT NULL,
  offset_ns INTEGER NOT NULL,
  PRIMARY KEY(boot, mono_ns)) WITHOUT ROWID;
CREATE TABLE delivered(first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE lost(first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, why TEXT NOT NULL);
)sql"},
};

static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

struct Addition {
  const char* name;
  const char* sql;  // only CREATE ... IF NOT EXISTS: re-running it is harmless
};

constexpr Addition kAdditions[] = {
    {"put_log", R"sql(
CREATE TABLE IF NOT EXISTS put_log(
  id INTEGER PRIMARY KEY,
  wall_ns INTEGER NOT NULL,
  who TEXT NOT NULL,
  peer TEXT NOT NULL,
  pv TEXT NOT NULL,
  old_value TEXT NOT NULL,
  new_value TEXT NOT NULL,
  result TEXT NOT NULL);
)sql"},
};

// No bookkeeping table of its own: an addition is its table, present or
// not (a small store's size cap counts every page).
void apply_additions(sql::Db& db) {
  sql::Transaction tx(db);
  for (const Addition& a : kAdditions) db.exec(a.sql);
  tx.commit();
}

}  // namespace

int schema_version(sql::Db& db) {
  if (db.query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'") == 0)
    return 0;
  return static_cast<int>(db.query_int("SELECT version FROM schema_version"));
}

void migrate(sql::Db& db) {
  for (const Migration& m : kMigrations) {
    // Re-read inside the transaction: another weftd may have migrated meanwhile.
    sql::Transaction tx(db);
    const int current = schema_version(db);
    if (current > kSchemaVersion)
      throw StoreError(db.path() + ": the database has schema version " + std::to_string(current) +
                       ", newer than this weftd understands (" + std::to_string(kSchemaVersion) +
                       "); run the weftd that wrote it (or a newer one), or move the file aside to start a new "
                       "database");
    if (current >= m.version) continue;
    db.exec(m.sql);
    if (current == 0) db.exec("CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES(0)");
    db.exec("UPDATE schema_version SET version = " + std::to_string(m.version));
    tx.commit();
  }
  // A database already at the newest version still gets the check above:
  // kMigrations is never empty, so the loop ran at least once.
  apply_additions(db);
}

}  // namespace weft::store
