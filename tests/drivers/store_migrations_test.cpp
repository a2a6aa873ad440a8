// Opening the store: a new database is created in WAL mode and migrated
// to the current schema; reopening keeps the data and the sequence; a
// database from a newer weftd, or a file that is not a database, is a
// clear error naming the path.
#include "weft/drivers/store/store.hpp"

#include <fstream>

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

TEST_CASE("store: a new database is created, in WAL mode, at the current schema", "[store]") {
  TempDir dir;
  const std::string path = dir.file("sub/dir/readings.db");  // the directory is created
  boost::asio::io_context ioc;
  {
    store::Store s(options_for(path));
    CHECK_FALSE(std::filesystem::exists(path));  // the constructor does no I/O
    run_sync(ioc, s.open());
    CHECK(s.is_open());
    CHECK(s.committed_seq() == 0);
  }
  CHECK(sql_int(path, "SELECT version FROM schema_version") == 1);
  store::sql::Db db(path, store::sql::OpenMode::read_only);
  store::sql::Statement mode(db, "PRAGMA journal_mode");
  REQUIRE(mode.step());
  CHECK(mode.text(0) == "wal");
  CHECK(db.query_int("PRAGMA auto_vacuum") == 2);  // incremental: the file can shrink
  for (const char* table : {"points", "boots", "readings", "clock_events", "delivered", "lost"})
    CHECK(db.query_int(std::string("SELECT count(*) FROM sqlite_master WHERE name = '") + table + "'") == 1);
}

TEST_CASE("store: reopening keeps the readings and continues the sequence", "[store]") {
  TempDir dir;
  const std::string path = dir.file("r.db");
  boost::asio::io_context ioc;
  {
    store::Store s(options_for(path));
    run_sync(ioc, s.open());
    CHECK(s.append(sample("a", 1.0)) == 1);
    CHECK(s.append(sample("b", 2.0)) == 2);
    CHECK(s.append(sample("a", 3.0)) == 3);
    CHECK(run_sync(ioc, s.flushed()) == 3);
  }
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  CHECK(s.committed_seq() == 3);
  CHECK(s.append(sample("c", 4.0)) == 4);
  CHECK(run_sync(ioc, s.flushed()) == 4);
  const auto rows = run_sync(ioc, s.undelivered(0, 10));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].reading.point == "a");
  CHECK(rows[3].reading.point == "c");
  CHECK(sql_int(path, "SELECT count(*) FROM points") == 3);  // names are interned
}

TEST_CASE("store: a database from a newer weftd is refused, not modified", "[store]") {
  TempDir dir;
  const std::string path = dir.file("new.db");
  boost::asio::io_context ioc;
  {
    store::Store s(options_for(path));
    run_sync(ioc, s.open());
  }
  {
    store::sql::Db db(path, store::sql::OpenMode::read_write_create);
    db.exec("UPDATE schema_version SET version = 99");
  }
  store::Store s(options_for(path));
  try {
    run_sync(ioc, s.open());
    FAIL("open() accepted a newer schema");
  } catch (const store::StoreError& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains(path));
    CHECK_THAT(msg, Catch::Contains("schema version 99"));
    CHECK_THAT(msg, Catch::Contains("newer than this weftd"));
  }
  CHECK_FALSE(s.is_open());
  CHECK(sql_int(path, "SELECT version FROM schema_version") == 99);
}

// SQLITE_NOTADB is treated like a corrupt file (a card that returned
// garbage for page 1): moved aside, never deleted, and a new store started.
TEST_CASE("store: a file that is not a database is moved aside and a new one started", "[store]") {
  TempDir dir;
  const std::string path = dir.file("junk.db");
  std::ofstream(path) << std::string(4096, 'x');
  boost::asio::io_context ioc;
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  CHECK(s.is_open());
  std::vector<std::filesystem::path> aside;
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    if (e.path().filename().string().rfind("junk.db.corrupt-", 0) == 0) aside.push_back(e.path());
  REQUIRE(aside.size() == 1);
  CHECK(std::filesystem::file_size(aside[0]) == 4096);
  const auto h = s.health();
  REQUIRE(h.incidents.size() == 1);
  CHECK_THAT(h.incidents[0], Catch::Contains("was corrupt") && Catch::Contains(aside[0].filename().string()));
  CHECK(s.append(sample("a", 1.0)) == 1);
  CHECK(run_sync(ioc, s.flushed()) == 1);
}

TEST_CASE("store: append before open is a programming error, not a silent loss", "[store]") {
  TempDir dir;
  store::Store s(options_for(dir.file("x.db")));
  CHECK_THROWS_AS(s.append(sample("a", 1.0)), std::logic_error);
}
