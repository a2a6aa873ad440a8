// See stored_readings.hpp.
#include "stored_readings.hpp"

#include <stdexcept>

#include <sqlite3.h>

namespace weft::bench {

std::vector<std::pair<std::int64_t, double>> stored_readings(const std::string& db, const std::string& point) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string why = h ? sqlite3_errmsg(h) : "out of memory";
    sqlite3_close(h);
    throw std::runtime_error("cannot open the store " + db + ": " + why);
  }
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "SELECT r.mono_ns, r.value FROM readings r JOIN points p ON r.point = p.id WHERE p.name = ?1 ORDER BY r.seq";
  if (sqlite3_prepare_v2(h, sql, -1, &st, nullptr) != SQLITE_OK) {
    const std::string why = sqlite3_errmsg(h);
    sqlite3_close(h);
    throw std::runtime_error("cannot read the store " + db + ": " + why);
  }
  sqlite3_bind_text(st, 1, point.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::pair<std::int64_t, double>> out;
  while (sqlite3_step(st) == SQLITE_ROW) out.emplace_back(sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

}  // namespace weft::bench
