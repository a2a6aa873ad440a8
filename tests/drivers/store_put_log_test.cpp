// The put log in the store: rows queued on the loop thread, committed by the
// writer with the next batch; the table is an additive schema change
// (migrations.hpp), so schema_version stays 1 and an older weftd, which
// refuses only a higher version, still opens the file.
#include "weft/drivers/store/store.hpp"

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {
store::PutRecord putlog_row(std::string pv, std::string result) {
  store::PutRecord r;
  r.wall_ns = 1'700'000'000'000'000'000;
  r.who = "op@console";
  r.peer = "127.0.0.1:40000";
  r.pv = std::move(pv);
  r.old_value = "1";
  r.new_value = "2";
  r.result = std::move(result);
  return r;
}
}  // namespace

TEST_CASE("store put log: rows are committed with the next batch, every column kept", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("p.db"));
  o.batch_age = std::chrono::milliseconds(20);
  boost::asio::io_context ioc;
  store::Store s(o);
  CHECK_THROWS_AS(s.append_put(putlog_row("box:a", "ok")), std::logic_error);  // before open, like append()
  run_sync(ioc, s.open());
  s.append_put(putlog_row("box:a", "ok"));
  s.append_put(putlog_row("box:b", "refused (no write access)"));
  REQUIRE(eventually([&] { return sql_int(o.path, "SELECT count(*) FROM put_log") == 2; }));
  CHECK(sql_text(o.path, "SELECT wall_ns || '|' || who || '|' || peer || '|' || pv || '|' || old_value || '|' || "
                         "new_value || '|' || result FROM put_log ORDER BY id LIMIT 1") ==
        "1700000000000000000|op@console|127.0.0.1:40000|box:a|1|2|ok");
  CHECK(sql_text(o.path, "SELECT result FROM put_log ORDER BY id DESC LIMIT 1") == "refused (no write access)");
  CHECK(sql_int(o.path, "SELECT count(*) FROM readings") == 0);  // no seq spent on it
  CHECK(s.committed_seq() == 0);
}

TEST_CASE("store put log: an addition, not a version: schema_version stays 1", "[store]") {
  TempDir dir;
  const std::string path = dir.file("v.db");
  boost::asio::io_context ioc;
  {
    store::Store s(options_for(path));
    run_sync(ioc, s.open());
  }
  CHECK(sql_int(path, "SELECT version FROM schema_version") == 1);
  CHECK(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'put_log'") == 1);
}

TEST_CASE("store put log: a file from a weftd without it gets the table, keeps its data and version", "[store]") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  boost::asio::io_context ioc;
  {
    store::Store s(options_for(path));
    run_sync(ioc, s.open());
    s.append(sample("a", 1.0));
    CHECK(run_sync(ioc, s.flushed()) == 1);
  }
  {  // what the weftd before the put log left: version 1, no put_log
    store::sql::Db db(path, store::sql::OpenMode::read_write_create);
    db.exec("DROP TABLE put_log");
  }
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  CHECK(s.committed_seq() == 1);
  s.append_put(putlog_row("box:a", "ok"));
  CHECK(s.append(sample("a", 2.0)) == 2);
  CHECK(run_sync(ioc, s.flushed()) == 2);
  CHECK(sql_int(path, "SELECT count(*) FROM put_log") == 1);
  CHECK(sql_int(path, "SELECT version FROM schema_version") == 1);
  CHECK(sql_int(path, "SELECT count(*) FROM readings") == 2);
}
