// Record restarting on a new Store (a [store] change) or the same file:
// a clean close followed by a reopen in the same process records no gap,
// also when another connection's read snapshot keeps the final checkpoint
// from completing (the WAL is synced instead), and a power cut right after
// such a close still loses no committed seq nor reuses one. (That last
// test also passes without the explicit WAL sync: SQLite's checkpoint
// attempt syncs the whole WAL whenever it can backfill any frame; the
// sync covers the case where it can backfill none.) Readings a close could not
// commit (the file stayed locked) become a gap at the next open, never
// silently reused seqs. A second Store on the same path waits for the
// first one's close before it reads the seq mark. Readings lost before the
// store (append_lost) are a gap in their place, and committed_seq never
// passes a reading still queued.
#include "weft/drivers/store/store.hpp"

#include <thread>

#include "store_crash_vfs.hpp"
#include "store_support.hpp"

using namespace std::chrono_literals;
using namespace weft;
using namespace weft::test;

namespace {

// Another connection holding a read snapshot taken before the last commits.
struct ReopenSnapshot {
  store::sql::Db db;
  explicit ReopenSnapshot(const std::string& path) : db(path, store::sql::OpenMode::read_only) {
    db.exec("BEGIN");
    db.query_int("SELECT count(*) FROM readings");
  }
};

}  // namespace

TEST_CASE("store reopen: a clean close with a reader in the way still gives the reservation back", "[store][power]") {
  TempDir dir;
  auto o = options_for(dir.file("reader.db"));
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    s.append(sample("p", 0.0));
    REQUIRE(run_sync(ioc, s.flushed()) == 1);
  }
  std::optional<ReopenSnapshot> reader;
  for (int run = 0; run < 3; ++run) {
    store::Store s(o);
    run_sync(ioc, s.open());
    if (!reader) reader.emplace(o.path);  // its snapshot predates every later commit: no checkpoint can complete
    for (int i = 0; i < 10; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
    run_sync(ioc, s.flushed());
  }
  store::Store s(o);
  run_sync(ioc, s.open());
  CHECK(s.append(sample("p", 0.0)) == 32);
  CHECK(run_sync(ioc, s.gaps()).empty());
}

TEST_CASE("store reopen: a power cut right after a clean close blocked by a reader loses no committed seq",
          "[store][power]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("cutreader.db"));
  o.vfs = CrashVfs::kName;
  o.synchronous = store::StoreOptions::Synchronous::normal;
  o.background_check = false;
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    s.append(sample("p", 0.0));
    REQUIRE(run_sync(ioc, s.flushed()) == 1);
  }
  {
    std::optional<ReopenSnapshot> reader;
    {
      store::Store s(o);
      run_sync(ioc, s.open());
      reader.emplace(o.path);
      for (int i = 0; i < 200; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
      REQUIRE(run_sync(ioc, s.flushed()) == 201);
    }  // closed: the checkpoint cannot complete, the mark is lowered to 202
    vfs.crash();  // the power goes the moment after
  }
  vfs.restore();
  // Every committed reading survived (the WAL was synced before the mark came down).
  CHECK(sql_int(o.path, "SELECT count(*) FROM readings") == 201);
  store::Store s(o);
  run_sync(ioc, s.open());
  CHECK(s.append(sample("p", -1.0)) == 202);
  CHECK(run_sync(ioc, s.gaps()).empty());
}

TEST_CASE("store reopen: readings a close could not commit become a gap, their seqs never reused", "[store][power]") {
  TempDir dir;
  auto o = options_for(dir.file("left.db"));
  o.busy_deadline = 200ms;  // the close waits at most this for the lock
  o.background_check = false;
  boost::asio::io_context ioc;
  {
    auto s = std::make_unique<store::Store>(o);
    run_sync(ioc, s->open());
    for (int i = 1; i <= 5; ++i) s->append(sample("p", static_cast<std::int64_t>(i)));
    REQUIRE(run_sync(ioc, s->flushed()) == 5);
    store::sql::Db other(o.path, store::sql::OpenMode::read_write_create);
    other.exec("BEGIN IMMEDIATE");
    for (int i = 6; i <= 9; ++i) s->append(sample("p", static_cast<std::int64_t>(i)));
    REQUIRE(eventually([&] { return s->counters().busy_retries >= 1; }));
    s.reset();  // closes while `other` still holds the lock: 6..9 are never committed
    other.exec("COMMIT");
  }
  store::Store s(o);
  run_sync(ioc, s.open());
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].first_seq == 6);
  CHECK(gaps[0].last_seq == 9);
  CHECK(s.append(sample("p", 10.0)) == 10);
}

TEST_CASE("store reopen: a second Store on the same file waits for the first one's close", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("two.db"));
  o.batch_rows = 10'000;
  o.batch_age = std::chrono::hours(1);  // A commits only at its close
  boost::asio::io_context ioc;
  auto a = std::make_unique<store::Store>(o);
  run_sync(ioc, a->open());
  for (int i = 1; i <= 500; ++i) a->append(sample("a", static_cast<std::int64_t>(i)));
  store::Store b(options_for(o.path));
  std::thread close_a([&] {
    std::this_thread::sleep_for(300ms);
    a.reset();
  });
  const auto started = std::chrono::steady_clock::now();
  b.open_blocking();  // waits for A's close, then reads its mark
  const auto waited = std::chrono::steady_clock::now() - started;
  close_a.join();
  CHECK(waited >= 250ms);
  CHECK(b.append(sample("b", 1.0)) == 501);
  CHECK(run_sync(ioc, b.flushed()) == 501);
  CHECK(run_sync(ioc, b.gaps()).empty());
  CHECK(sql_int(o.path, "SELECT count(*) FROM readings") == 501);
}

TEST_CASE("store reopen: readings lost before the store are a gap in their place", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("lost.db"));
  o.batch_rows = 3;
  o.batch_age = std::chrono::hours(1);  // a batch only when 3 readings wait
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    CHECK(s.append_lost(0, "none") == 0);
    for (int i = 1; i <= 5; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));  // 1..5
    CHECK(s.append_lost(3, "dropped (bus queue full)") == 6);                       // 6..8
    CHECK(s.append_lost(1, "dropped (bus queue full)") == 9);                       // 9, merged
    // One batch (1..3) is taken; the gap must wait for 4 and 5, or
    // committed_seq would claim seqs whose readings are still queued.
    REQUIRE(eventually([&] { return s.committed_seq() >= 3; }));
    std::this_thread::sleep_for(50ms);
    CHECK(s.committed_seq() == 3);
    CHECK(s.append(sample("p", 10.0)) == 10);  // the next batch: 4, 5, the gap, 10
    CHECK(run_sync(ioc, s.flushed()) == 10);
  }
  store::Store s(o);
  run_sync(ioc, s.open());
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].first_seq == 6);
  CHECK(gaps[0].last_seq == 9);
  CHECK(gaps[0].why == "dropped (bus queue full)");
  CHECK(sql_int(o.path, "SELECT count(*) FROM readings") == 6);
  CHECK(s.append(sample("p", 11.0)) == 11);
}

TEST_CASE("store reopen: readings queued past the reservation while failed are a gap after the close", "[store][power]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("failedq.db"));
  o.vfs = CrashVfs::kName;
  o.synchronous = store::StoreOptions::Synchronous::full;
  o.error_deadline = std::chrono::milliseconds(200);
  o.background_check = false;
  o.ballast_bytes = 0;
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 1; i <= 5; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
    REQUIRE(run_sync(ioc, s.flushed()) == 5);  // the mark now reserves 6..6405 (a block of 64 batches)
    vfs.crash();                               // every write fails from now on: the store gives up on the file
    s.append(sample("p", 6.0));
    REQUIRE(eventually([&] { return s.health().state == store::StoreHealth::State::failed; }));
    for (int i = 7; i <= 7005; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));  // past the reservation
    vfs.heal();
  }  // closed while failed: 6..7005 can never be committed
  store::Store s(o);
  run_sync(ioc, s.open());
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].first_seq == 6);
  CHECK(gaps[0].last_seq == 7005);
  CHECK(s.append(sample("p", 0.0)) == 7006);
}
