// Schema migrations: the database records its schema version in the
// schema_version table; each migration runs in its own transaction, so a
// kill mid-migration leaves the previous version intact. A database from a
// newer weftd is refused with a StoreError, never modified.
#pragma once

#include "sqlite_db.hpp"

namespace weft::store {

inline constexpr int kSchemaVersion = 1;

// The version recorded in `db` (0 for a new, empty database).
int schema_version(sql::Db& db);
// Brings `db` to kSchemaVersion. Throws StoreError for a newer database.
void migrate(sql::Db& db);

}  // namespace weft::store
