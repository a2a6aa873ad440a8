// Ad-hoc read-only queries for the console: see query.hpp. Read-only is
// enforced three times: the connection is SQLITE_OPEN_READONLY, the
// statement must be sqlite3_stmt_readonly(), and the authorizer refuses
// what would change the shared connection. Time is bounded by a progress
// handler, rows by max_rows, cell sizes by max_cell_bytes and
// SQLITE_LIMIT_LENGTH.
#include "query.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <sqlite3.h>

#include "busy_retry.hpp"

namespace weft::store {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kProgressEveryOps = 1000;              // VM instructions between deadline checks
constexpr int kMaxValueBytes = 16 * 1024 * 1024;     // no string/blob built by a query may exceed this
constexpr std::string_view kReadOnlyOnly =
    "sql: only read-only statements (SELECT, WITH, EXPLAIN, read-only PRAGMA) are allowed";

// PRAGMAs that take an argument yet only read (the argument names a table or index).
constexpr std::array<std::string_view, 10> kReadingPragmasWithArgument = {
    "table_info", "table_xinfo",       "index_info",      "index_xinfo", "index_list",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check", "table_list"};

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

struct Guard {
  SteadyClock::time_point deadline;
  bool timed_out = false;
  std::string refused;  // what the authorizer refused, for the message
};

int on_progress(void* p) {
  auto* g = static_cast<Guard*>(p);
  if (SteadyClock::now() < g->deadline) return 0;
  g->timed_out = true;
  return 1;  // interrupts: SQLITE_INTERRUPT
}

int authorize(void* p, int action, const char* a1, const char* a2, const char*, const char*) {
  auto* g = static_cast<Guard*>(p);
  switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      g->refused = "ATTACH and DETACH change the connection";
      return SQLITE_DENY;
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      g->refused = "each query runs in its own transaction; BEGIN, COMMIT, SAVEPOINT... are not needed";
      return SQLITE_DENY;
    case SQLITE_PRAGMA: {
      if (a2 == nullptr) return SQLITE_OK;  // reading a setting; stmt_readonly decides the rest
      const std::string_view name = a1 != nullptr ? a1 : "";
      for (std::string_view ok : kReadingPragmasWithArgument)
        if (equal_nocase(name, ok)) return SQLITE_OK;
      g->refused = "PRAGMA " + std::string(name) + " with a value sets something";
      return SQLITE_DENY;
    }
    default:
      return SQLITE_OK;
  }
}

// Installs the guard's hooks and a length limit; removes them (restores the limit) on exit.
class Hooks {
public:
  Hooks(sqlite3* db, Guard& guard) : db_(db) {
    sqlite3_progress_handler(db_, kProgressEveryOps, on_progress, &guard);
    sqlite3_set_authorizer(db_, authorize, &guard);
    old_length_ = sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, kMaxValueBytes);
  }
  ~Hooks() {
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    sqlite3_set_authorizer(db_, nullptr, nullptr);
    sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, old_length_);
  }
  Hooks(const Hooks&) = delete;
  Hooks& operator=(const Hooks&) = delete;

private:
  sqlite3* db_;
  int old_length_;
};

struct StmtOwner {
  sqlite3_stmt* stmt = nullptr;
  ~StmtOwner() { sqlite3_finalize(stmt); }
};

// A busy database (should not happen to a WAL reader): retried with backoff.
struct Busy {
  int code;
};

std::string seconds_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::chrono::duration<double>(d).count());
  return buf;
}

QueryValue cell(sqlite3_stmt* st, int col, const QueryLimits& limits, bool& cut) {
  switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER: return sqlite3_column_int64(st, col);
    case SQLITE_FLOAT: return sqlite3_column_double(st, col);
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
      const auto n = static_cast<std::size_t>(sqlite3_column_bytes(st, col));
      if (n <= limits.max_cell_bytes) return std::string(p, n);
      cut = true;
      return std::string(p, limits.max_cell_bytes) + "...";
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(st, col));
      const auto n = static_cast<std::size_t>(sqlite3_column_bytes(st, col));
      return QueryBlob{p ? std::string(p, std::min(n, limits.max_cell_bytes)) : std::string(), n};
    }
    default: return std::monostate{};
  }
}

QueryResult attempt(sqlite3* db, const std::string& sql, const QueryLimits& limits, Guard& guard) {
  const auto started = SteadyClock::now();
  const std::string quoted = " (in \"" + quote_statement(sql) + "\")";
  // Thrown, not returned: a CorruptQuery must keep its type.
  const auto sqlite_error = [&](int rc) {
    if (guard.timed_out || (rc & 0xff) == SQLITE_INTERRUPT)
      throw QueryError("sql: stopped after " + seconds_text(limits.timeout) + " s; narrow the query" + quoted);
    if (!guard.refused.empty()) throw QueryError(std::string(kReadOnlyOnly) + "; " + guard.refused + quoted);
    const std::string message = sqlite3_errmsg(db);
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
      throw CorruptQuery("sql: " + message + quoted + "; the store is told and moves the file aside", message);
    throw QueryError("sql: " + message + quoted);
  };

  StmtOwner st;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st.stmt, &tail);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) throw Busy{rc};
  if (rc != SQLITE_OK) sqlite_error(rc);
  if (st.stmt == nullptr) throw QueryError("sql: no statement given; usage: sql SELECT ...");
  if (!sqlite3_stmt_readonly(st.stmt)) throw QueryError(std::string(kReadOnlyOnly) + quoted);
  // Only one statement: whatever follows must prepare to nothing (blanks, comments, ';').
  const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
  {
    StmtOwner next;
    const int next_rc = sqlite3_prepare_v2(db, rest.data(), static_cast<int>(rest.size()), &next.stmt, nullptr);
    if (next_rc != SQLITE_OK || next.stmt != nullptr)
      throw QueryError("sql: one statement at a time; remove what follows the first one: \"" +
                       quote_statement(rest) + "\"");
  }
  guard.refused.clear();

  QueryResult out;
  const int ncol = sqlite3_column_count(st.stmt);
  for (int c = 0; c < ncol; ++c) {
    const char* name = sqlite3_column_name(st.stmt, c);
    out.columns.emplace_back(name ? name : "");
  }
  for (;;) {
    rc = sqlite3_step(st.stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      if (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) && !guard.timed_out) throw Busy{rc};
      sqlite_error(rc);
    }
    if (out.rows.size() == limits.max_rows) {
      out.truncated = true;  // a row beyond the limit exists: stop reading
      break;
    }
    std::vector<QueryValue> row;
    row.reserve(static_cast<std::size_t>(ncol));
    for (int c = 0; c < ncol; ++c) row.push_back(cell(st.stmt, c, limits, out.cell_cut));
    out.rows.push_back(std::move(row));
  }
  out.elapsed = SteadyClock::now() - started;
  return out;
}

}  // namespace

std::string quote_statement(std::string_view sql, std::size_t max_chars) {
  std::string out;
  for (char c : sql) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

QueryResult run_query(sql::Db& db, const std::string& sql, const QueryLimits& limits) {
  Guard guard;
  guard.deadline = SteadyClock::now() + limits.timeout;
  Hooks hooks(db.handle(), guard);
  // Busy retry as the writer does it, bounded by the query's own deadline.
  BusyRetry busy(std::chrono::milliseconds(5), std::chrono::milliseconds(200), limits.timeout,
                 std::random_device{}());
  for (;;) {
    try {
      return attempt(db.handle(), sql, limits, guard);
    } catch (const Busy& b) {
      const BusyStep step = busy.on_busy(SteadyClock::now());
      if (SteadyClock::now() + step.wait >= guard.deadline)
        throw QueryError("sql: the database stayed locked for " + seconds_text(limits.timeout) +
                         " s (" + sqlite3_errstr(b.code) + "); try again (in \"" + quote_statement(sql) + "\")");
      std::this_thread::sleep_for(step.wait);  // the reader thread, never the loop
    }
  }
}

}  // namespace weft::store
