// The console's ad-hoc read-only query (Store::query), run on the reader
// thread's read-only connection. The connection is shared with the upload
// queries, so a query must leave it as it found it: an authorizer refuses
// ATTACH/DETACH, transactions and PRAGMAs that set something, and the
// progress handler, authorizer and length limit are removed afterwards.
#pragma once

#include <string>

#include "sqlite_db.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::store {

// A query that failed because the file is damaged (SQLITE_CORRUPT or
// SQLITE_NOTADB): a QueryError to the console, and for the store a report
// to the writer (found(): what SQLite said).
class CorruptQuery : public QueryError {
public:
  CorruptQuery(const std::string& message, std::string found) : QueryError(message), found_(std::move(found)) {}
  const std::string& found() const noexcept { return found_; }

private:
  std::string found_;
};

// Reader thread. Throws QueryError (refused, failed, interrupted; CorruptQuery).
QueryResult run_query(sql::Db& db, const std::string& sql, const QueryLimits& limits);

// `sql` for an error message: control characters and quotes escaped, cut
// to `max_chars` with "..." (e.g. SELECT\n1 -> SELECT\\n1).
std::string quote_statement(std::string_view sql, std::size_t max_chars = 80);

}  // namespace weft::store
