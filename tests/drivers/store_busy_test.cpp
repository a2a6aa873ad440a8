// Lock contention: another connection holding the write lock (BEGIN
// IMMEDIATE) makes the writer retry with backoff; readings queue in memory
// meanwhile, retries and episodes are counted, and once the lock is
// released everything is committed. (tests/integration/store_busy_cli.sh
// does the same with the real sqlite3 CLI in another process.)
#include "weft/drivers/store/store.hpp"

#include <atomic>

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

TEST_CASE("store: a write lock held elsewhere is retried, nothing is lost", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("busy.db"));
  o.batch_rows = 10;
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  for (int i = 1; i <= 5; ++i) s.append(sample("before", static_cast<std::int64_t>(i)));
  REQUIRE(run_sync(ioc, s.flushed()) == 5);

  store::sql::Db other(o.path, store::sql::OpenMode::read_write_create);
  other.exec("BEGIN IMMEDIATE");
  for (int i = 6; i <= 50; ++i) s.append(sample("during", static_cast<std::int64_t>(i)));
  REQUIRE(eventually([&] { return s.counters().busy_retries >= 3; }));
  CHECK(s.committed_seq() == 5);  // nothing can be committed while the lock is held
  CHECK(s.counters().busy_episodes == 1);
  other.exec("COMMIT");

  CHECK(run_sync(ioc, s.flushed()) == 50);
  const auto c = s.counters();
  CHECK(c.busy_episodes == 1);
  CHECK(c.dropped == 0);
  CHECK(c.rows_written == 50);
  CHECK(sql_int(o.path, "SELECT count(*) FROM readings") == 50);
  CHECK(sql_int(o.path, "SELECT max(seq) - min(seq) + 1 FROM readings") == 50);
}
