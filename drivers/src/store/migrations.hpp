// Schema migrations: the database records its schema version in the
// schema_version table; each migration runs in its own transaction, so a
// kill mid-migration leaves the previous version intact. A database from a
// newer weftd is refused with a StoreError, never modified.
//
// Two kinds of change, so that rolling weftd back never needs a downgrade:
//  - versioned (kMigrations): a change older code cannot read (a column of
//    an existing table changed, a meaning changed). It raises
//    schema_version, and every older weftd then refuses the file: an
//    update that brings one cannot be rolled back onto the same file.
//  - additive (kAdditions): a new table (or index) that older code never
//    reads and never needs to write. Created IF NOT EXISTS at every open
//    (an addition is named by its table), and schema_version stays as it
//    is: an older weftd opens the file as before and ignores the table
//    (the rows stay; its rows simply stop growing). The put log is one.
#pragma once

#include "sqlite_db.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::store {

// The version recorded in `db` (0 for a new, empty database).
int schema_version(sql::Db& db);
// Brings `db` to kSchemaVersion. Throws StoreError for a newer database.
void migrate(sql::Db& db);

}  // namespace weft::store
