// The console's read-only query (Store::query): a SELECT answers with
// columns and typed cells; row, cell and time limits hold; anything that
// writes or changes the shared read connection is refused with a message
// that says so and quotes the statement; the connection stays usable.
#include "weft/drivers/store/store.hpp"

#include "../../drivers/src/store/query.hpp"
#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

// The message of the QueryError `aw` throws ("" if it does not throw one).
std::string query_error(boost::asio::io_context& ioc, boost::asio::awaitable<store::QueryResult> aw) {
  try {
    run_sync(ioc, std::move(aw));
  } catch (const store::QueryError& e) {
    return e.what();
  }
  return "";
}

constexpr std::string_view kReadOnly = "sql: only read-only statements (SELECT, WITH, EXPLAIN, read-only PRAGMA) are allowed";

}  // namespace

TEST_CASE("store query: a SELECT answers with columns and typed cells", "[store][store-query]") {
  TempDir dir;
  const std::string path = dir.file("q.db");
  boost::asio::io_context ioc;
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  for (int i = 1; i <= 5; ++i) s.append(sample("p" + std::to_string(i % 2), static_cast<std::int64_t>(i * 10)));
  REQUIRE(run_sync(ioc, s.flushed()) == 5);

  auto r = run_sync(ioc, s.query("SELECT count(*) AS n FROM readings"));
  REQUIRE(r.columns == std::vector<std::string>{"n"});
  REQUIRE(r.rows.size() == 1);
  CHECK(std::get<std::int64_t>(r.rows[0][0]) == 5);
  CHECK_FALSE(r.truncated);

  r = run_sync(ioc, s.query("SELECT p.name, r.value, 1.5, NULL, x'00ff' FROM readings r JOIN points p ON p.id = "
                            "r.point WHERE r.seq = 2;  -- trailing comment is fine"));
  REQUIRE(r.columns.size() == 5);
  CHECK(r.columns[0] == "name");
  REQUIRE(r.rows.size() == 1);
  CHECK(std::get<std::string>(r.rows[0][0]) == "p0");
  CHECK(std::get<std::int64_t>(r.rows[0][1]) == 20);
  CHECK(std::get<double>(r.rows[0][2]) == 1.5);
  CHECK(std::holds_alternative<std::monostate>(r.rows[0][3]));
  CHECK(std::get<store::QueryBlob>(r.rows[0][4]) == store::QueryBlob{std::string("\x00\xff", 2), 2});

  // Read-only PRAGMAs, with or without a table argument, and EXPLAIN.
  // (PRAGMA journal_mode is not one: SQLite calls it a write, as it could set the mode.)
  CHECK(std::get<std::int64_t>(run_sync(ioc, s.query("PRAGMA page_count")).rows.at(0).at(0)) > 0);
  CHECK(std::get<std::string>(run_sync(ioc, s.query("PRAGMA quick_check")).rows.at(0).at(0)) == "ok");
  CHECK(run_sync(ioc, s.query("PRAGMA table_info(readings)")).rows.size() == 8);
  CHECK(!run_sync(ioc, s.query("EXPLAIN QUERY PLAN SELECT * FROM readings WHERE seq > 3")).rows.empty());
  CHECK(run_sync(ioc, s.query("SELECT name FROM pragma_table_info('lost')")).rows.size() == 3);
}

TEST_CASE("store query: the row and cell limits cut the result and say so", "[store][store-query]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("q.db")));
  run_sync(ioc, s.open());

  store::QueryLimits limits;
  limits.max_rows = 10;
  auto r = run_sync(ioc, s.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50) "
                                 "SELECT x FROM c",
                                 limits));
  CHECK(r.rows.size() == 10);
  CHECK(r.truncated);
  CHECK(std::get<std::int64_t>(r.rows.back()[0]) == 10);

  r = run_sync(ioc, s.query("SELECT 1 UNION ALL SELECT 2", limits));
  CHECK(r.rows.size() == 2);
  CHECK_FALSE(r.truncated);

  limits.max_cell_bytes = 4;
  r = run_sync(ioc, s.query("SELECT 'abcdefgh', zeroblob(100)", limits));
  CHECK(std::get<std::string>(r.rows[0][0]) == "abcd...");
  CHECK(r.cell_cut);
  CHECK(std::get<store::QueryBlob>(r.rows[0][1]).size == 100);
  CHECK(std::get<store::QueryBlob>(r.rows[0][1]).bytes.size() == 4);

  // A value too big to build on a small box fails instead of allocating it.
  CHECK_THAT(query_error(ioc, s.query("SELECT length(zeroblob(100000000) || 'x')")),
             Catch::Contains("too big"));
}

TEST_CASE("store query: writes and connection changes are refused", "[store][store-query]") {
  TempDir dir;
  const std::string path = dir.file("q.db");
  boost::asio::io_context ioc;
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  s.append(sample("p", std::int64_t{1}));
  REQUIRE(run_sync(ioc, s.flushed()) == 1);

  for (const char* statement :
       {"INSERT INTO points(name) VALUES ('x')", "DELETE FROM readings", "UPDATE readings SET value = 0",
        "DROP TABLE readings", "CREATE TEMP TABLE t(x)", "PRAGMA journal_mode=DELETE", "PRAGMA user_version = 7",
        "PRAGMA busy_timeout = 0", "PRAGMA cache_size = 5", "BEGIN", "SAVEPOINT a", "VACUUM"}) {
    INFO(statement);
    const std::string error = query_error(ioc, s.query(statement));
    CHECK_THAT(error, Catch::StartsWith(std::string(kReadOnly)));
    CHECK_THAT(error, Catch::Contains(std::string(statement).substr(0, 10)));
  }
  const std::string attach = query_error(ioc, s.query("ATTACH DATABASE '" + dir.file("other.db") + "' AS other"));
  CHECK_THAT(attach, Catch::StartsWith(std::string(kReadOnly)));
  CHECK_THAT(attach, Catch::Contains("ATTACH"));
  CHECK_FALSE(std::filesystem::exists(dir.file("other.db")));

  // One statement only: what follows the first is refused, even a SELECT.
  CHECK_THAT(query_error(ioc, s.query("SELECT 1; DELETE FROM readings")),
             Catch::StartsWith("sql: one statement at a time") && Catch::Contains("DELETE FROM readings"));
  CHECK_THAT(query_error(ioc, s.query("SELECT 1; SELECT 2")), Catch::StartsWith("sql: one statement at a time"));
  CHECK_THAT(query_error(ioc, s.query("  ;  ")), Catch::StartsWith("sql: no statement given"));

  // Nothing changed, and the shared connection still serves the upload side.
  CHECK(sql_int(path, "SELECT count(*) FROM readings") == 1);
  CHECK(sql_int(path, "PRAGMA user_version") == 0);
  CHECK(run_sync(ioc, s.undelivered(0, 10)).size() == 1);
  CHECK(std::get<std::int64_t>(run_sync(ioc, s.query("SELECT count(*) FROM readings")).rows[0][0]) == 1);
}

TEST_CASE("store query: a query past its time limit is stopped", "[store][store-query]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("q.db")));
  run_sync(ioc, s.open());
  s.append(sample("p", std::int64_t{1}));
  REQUIRE(run_sync(ioc, s.flushed()) == 1);

  store::QueryLimits limits;
  limits.timeout = std::chrono::milliseconds(300);
  const std::string forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
  const std::string error = query_error(ioc, s.query(forever, limits));
  CHECK_THAT(error, Catch::StartsWith("sql: stopped after 0.3 s; narrow the query"));
  CHECK_THAT(error, Catch::Contains("WITH RECURSIVE c(x)"));
  // The handler is gone afterwards: the connection answers normally.
  CHECK(run_sync(ioc, s.undelivered(0, 10)).size() == 1);
  CHECK(run_sync(ioc, s.query("SELECT 42")).rows.size() == 1);
}

TEST_CASE("store query: bad SQL quotes SQLite's message and the statement", "[store][store-query]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("q.db")));
  run_sync(ioc, s.open());

  CHECK(query_error(ioc, s.query("SELECT * FROM readingz")) ==
        "sql: no such table: readingz (in \"SELECT * FROM readingz\")");
  CHECK_THAT(query_error(ioc, s.query("SELEC 1")), Catch::Contains("syntax error") && Catch::Contains("SELEC 1"));
  CHECK(store::quote_statement("SELECT \"a\"\n\t1\x01") == "SELECT \\\"a\\\"\\n\\t1\\x01");
  CHECK(store::quote_statement(std::string(200, 'x'), 10) == std::string(10, 'x') + "...");
}

TEST_CASE("store query: before open() it is refused", "[store][store-query]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("q.db")));
  CHECK_THROWS_AS(run_sync(ioc, s.query("SELECT 1")), store::StoreError);
}
