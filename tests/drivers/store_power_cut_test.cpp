// A power cut under synchronous = normal: the commits after the last WAL
// sync vanish. The seqs they used must never be handed to other readings
// (a consumer dropping duplicates by seq would throw the new ones away):
// the reopened store goes on above every seq that was ever committed, and
// records the vanished ones as a gap. The power cut is the crash-simulating
// VFS of store_crash_vfs.hpp (unsynced writes rolled back).
#include "weft/drivers/store/store.hpp"

#include <algorithm>

#include "store_crash_vfs.hpp"
#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

std::uint64_t max_seq(const std::string& path) {
  return static_cast<std::uint64_t>(sql_int(path, "SELECT coalesce(max(seq), 0) FROM readings"));
}

}  // namespace

TEST_CASE("store: after a power cut no seq is given to a second reading", "[store][power]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("cut.db"));
  o.vfs = CrashVfs::kName;
  o.synchronous = store::StoreOptions::Synchronous::normal;
  boost::asio::io_context ioc;
  {  // 50 readings, closed cleanly: checkpointed and synced
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 1; i <= 50; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
    CHECK(run_sync(ioc, s.flushed()) == 50);
  }
  REQUIRE(max_seq(o.path) == 50);

  std::uint64_t committed_before_cut = 0;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    // Several batches, each committed (upload may send up to committed_seq).
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 100; ++i) s.append(sample("p", 1000.0 + round * 100 + i));
      committed_before_cut = run_sync(ioc, s.flushed());
    }
    CHECK(committed_before_cut == 350);
    REQUIRE(vfs.unsynced_writes() > 0);  // the commits sit in the unsynced WAL
    vfs.crash();
  }  // the close cannot write any more
  vfs.restore();

  // The power cut took the last commits: the file alone says 50.
  REQUIRE(max_seq(o.path) == 50);

  store::Store s(o);
  run_sync(ioc, s.open());
  const std::uint64_t seq = s.append(sample("p", -1.0));
  CHECK(seq > committed_before_cut);  // before the seq mark this was 51: a seq the broker already had
  CHECK(run_sync(ioc, s.flushed()) >= seq);
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE(!gaps.empty());
  const auto& g = gaps.back();
  CHECK(g.first_seq == 51);
  CHECK(g.last_seq == seq - 1);
  CHECK(g.why.find("power cut") != std::string::npos);
  const auto rows = run_sync(ioc, s.undelivered(0, 1000));
  REQUIRE(rows.size() == 51);
  CHECK(rows.back().seq == seq);
  CHECK(std::get<double>(rows.back().reading.value) == -1.0);
}

TEST_CASE("store: under synchronous = full a power cut keeps every committed reading", "[store][power]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("full.db"));
  o.vfs = CrashVfs::kName;
  o.synchronous = store::StoreOptions::Synchronous::full;
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 1; i <= 300; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
    CHECK(run_sync(ioc, s.flushed()) == 300);
    vfs.crash();
  }
  vfs.restore();
  CHECK(max_seq(o.path) == 300);
  store::Store s(o);
  run_sync(ioc, s.open());
  CHECK(s.append(sample("p", 0.0)) > 300);
}

TEST_CASE("store: a clean close gives the unused reservation back (no gap at the next open)", "[store][power]") {
  TempDir dir;
  auto o = options_for(dir.file("clean.db"));
  boost::asio::io_context ioc;
  for (int run = 0; run < 3; ++run) {
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 0; i < 10; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
    run_sync(ioc, s.flushed());
  }
  store::Store s(o);
  run_sync(ioc, s.open());
  CHECK(s.append(sample("p", 0.0)) == 31);
  CHECK(run_sync(ioc, s.gaps()).empty());
}

// A first boot's open: the new file's switch to WAL needs no rollback
// journal (it protects old content, and a new file has none), but the
// file itself must be synced before anything is committed in WAL mode: a
// WAL beside a database file that never reached the disk is thrown away,
// acknowledged commits with it. (The test above, on a new file too, is
// the power cut that loses them if that sync is missing.)
TEST_CASE("store: a new file goes to WAL without journal syncs, and is synced before the first commit", "[store][power]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("new.db"));
  o.vfs = CrashVfs::kName;
  o.synchronous = store::StoreOptions::Synchronous::full;
  boost::asio::io_context ioc;
  const std::uint64_t journal_before = vfs.syncs_of("-journal");
  const std::uint64_t others_before = vfs.syncs_of("");
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    CHECK(vfs.syncs_of("-journal") == journal_before);  // was 4 (two journalled transactions of page 1)
    CHECK(vfs.syncs_of("") > others_before);             // the database file itself
    s.append(sample("p", 1.0));
    REQUIRE(run_sync(ioc, s.flushed()) == 1);  // acknowledged: durable under full
    vfs.crash();                               // before any checkpoint could write the file
  }
  vfs.restore();
  CHECK(max_seq(o.path) == 1);
  CHECK(sql_text(o.path, "PRAGMA journal_mode") == "wal");
  CHECK(sql_int(o.path, "PRAGMA auto_vacuum") == 2);  // INCREMENTAL: set in the unsynced switch too
  // An existing file opens without the unsynced switch: still no journal at all.
  const std::uint64_t journal_mid = vfs.syncs_of("-journal");
  store::Store s(o);
  run_sync(ioc, s.open());
  CHECK(vfs.syncs_of("-journal") == journal_mid);
}

// The process dies between the new file's unsynced switch to WAL and the
// sync that follows it (killed by the watchdog, the OOM killer, a power
// supply that browns out the CPU first): the file is left non-empty but
// never synced. The next open sees an existing file, yet that file may
// still not be on the disk: it must be synced before the first commit
// too, or a power cut then takes the acknowledged readings (SQLite
// discards a WAL beside an empty database file).
TEST_CASE("store: a new file left unsynced by a dead process is synced before the next open's first commit",
          "[store][power]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("dead.db"));
  o.vfs = CrashVfs::kName;
  o.synchronous = store::StoreOptions::Synchronous::full;
  {  // what open_file() had done when the process died: the switch, unsynced
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(o.path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, CrashVfs::kName) ==
            SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA synchronous = OFF; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  REQUIRE(vfs.unsynced_writes() > 0);  // the switch never reached the disk
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    s.append(sample("p", 1.0));
    REQUIRE(run_sync(ioc, s.flushed()) == 1);  // acknowledged: durable under full
    vfs.crash();
  }
  vfs.restore();
  CHECK(max_seq(o.path) == 1);
}
