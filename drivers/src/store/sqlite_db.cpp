// The SQLite RAII wrapper: see sqlite_db.hpp.
#include "sqlite_db.hpp"

#include <cerrno>

#include <sqlite3.h>

namespace weft::store::sql {

bool SqliteError::is_busy() const noexcept { return primary() == SQLITE_BUSY || primary() == SQLITE_LOCKED; }
bool SqliteError::is_full() const noexcept {
  return primary() == SQLITE_FULL || (primary() == SQLITE_IOERR && sys_errno_ == ENOSPC);
}

bool SqliteError::is_corrupt() const noexcept { return primary() == SQLITE_CORRUPT || primary() == SQLITE_NOTADB; }

Db::Db(std::string path, OpenMode mode, const std::string& vfs) : path_(std::move(path)) {
  const int flags = mode == OpenMode::read_only ? SQLITE_OPEN_READONLY
                                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  // NOMUTEX: a connection is used by one thread only.
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqliteError(rc, path_ + ": cannot open the database: " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::fail(int rc, std::string_view doing) const {
  throw SqliteError(rc,
                    path_ + ": " + std::string(doing) + ": " + sqlite3_errmsg(db_) + " (" + sqlite3_errstr(rc) + ")",
                    sqlite3_system_errno(db_));
}

void Db::exec(std::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(sqlite3_extended_errcode(db_), text.substr(0, 60));
}

std::int64_t Db::query_int(std::string_view sql) {
  Statement st(*this, sql);
  return st.step() ? st.int64(0) : 0;
}

void Db::busy_timeout(int ms) { sqlite3_busy_timeout(db_, ms); }
int Db::changes() const noexcept { return sqlite3_changes(db_); }

Statement::Statement(Db& db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, "cannot prepare " + std::string(sql.substr(0, 60)));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t v) {
  if (const int rc = sqlite3_bind_int64(stmt_, index, v); rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, double v) {
  if (const int rc = sqlite3_bind_double(stmt_, index, v); rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view v) {
  if (const int rc = sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
      rc != SQLITE_OK)
    db_.fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (const int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);  // the statement is reusable after an error
  db_.fail(rc, std::string("executing ") + std::string(sqlite3_sql(stmt_)).substr(0, 60));
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() noexcept { sqlite3_reset(stmt_); }

int Statement::column_type(int col) const noexcept { return sqlite3_column_type(stmt_, col); }
std::int64_t Statement::int64(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
double Statement::real(int col) const noexcept { return sqlite3_column_double(stmt_, col); }

std::string Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

Transaction::Transaction(Db& db, Kind kind) : db_(db) {
  db_.exec(kind == Kind::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  // Never throws: a failed rollback leaves the connection to roll back itself
  // (SQLite rolls back an open transaction when the next BEGIN fails).
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace weft::store::sql
