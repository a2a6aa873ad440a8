// Thin RAII over the SQLite C API: a connection (Db), a prepared statement
// (Statement) and a transaction scope (Transaction). Every failure throws
// SqliteError with the result code, sqlite3_errmsg and the database path.
// A connection belongs to one thread (the writer's or the reader's); no
// SQLite call is made anywhere else.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace weft::store::sql {

class SqliteError : public std::runtime_error {
public:
  SqliteError(int code, const std::string& message, int sys_errno = 0)
      : std::runtime_error(message), code_(code), sys_errno_(sys_errno) {}
  int code() const noexcept { return code_; }  // extended result code
  int sys_errno() const noexcept { return sys_errno_; }  // errno of the failed system call, if any
  int primary() const noexcept { return code_ & 0xff; }
  bool is_busy() const noexcept;  // SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock
  // SQLITE_FULL (disk full or max_page_count reached), or an I/O error
  // whose system call failed with ENOSPC (a WAL write on a full disk).
  bool is_full() const noexcept;
  // SQLITE_CORRUPT or SQLITE_NOTADB: the file itself is bad; retrying cannot help.
  bool is_corrupt() const noexcept;

private:
  int code_;
  int sys_errno_;
};

enum class OpenMode { read_write_create, read_only };

class Db {
public:
  // `vfs`: a registered SQLite VFS by name (null or empty: the default). Throws SqliteError.
  Db(std::string path, OpenMode mode, const std::string& vfs = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // One or more statements without results.
  void exec(std::string_view sql);
  // The first column of the first row of `sql` as an integer (0 if no row).
  std::int64_t query_int(std::string_view sql);
  // Waits up to `ms` inside SQLite when a lock is held (0: fail at once with SQLITE_BUSY).
  void busy_timeout(int ms);
  int changes() const noexcept;

  [[noreturn]] void fail(int rc, std::string_view doing) const;
  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// A prepared statement. Bind parameters (1-based), step(), read columns
// (0-based); reset() before reusing it.
class Statement {
public:
  Statement(Db& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t v);
  Statement& bind(int index, double v);
  Statement& bind_text(int index, std::string_view v);
  Statement& bind_null(int index);

  bool step();  // true: a row is available; false: done
  void run();   // steps to the end, then resets
  void reset() noexcept;  // ready to step again; bindings kept until rebound

  int column_type(int col) const noexcept;  // SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL
  std::int64_t int64(int col) const noexcept;
  double real(int col) const noexcept;
  std::string text(int col) const;

private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE (takes the write lock now, so a busy lock shows up here
// rather than at the first write) or a deferred read transaction; rolls
// back in the destructor unless committed.
class Transaction {
public:
  enum class Kind { immediate, read };
  explicit Transaction(Db& db, Kind kind = Kind::immediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

private:
  Db& db_;
  bool open_ = true;
};

}  // namespace weft::store::sql
