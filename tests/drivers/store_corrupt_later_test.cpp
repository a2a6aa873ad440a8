// Damage the open does not meet. The open no longer runs quick_check (it
// reads the whole file: see drivers/src/store/file_check.hpp), so damage is
// acted on wherever it is met: by the open's own reads (finish_open), by a
// write while running (here retention's scan of the oldest rows), or by the
// background quick_check. Each fails the store if it is open, and the next
// open moves the file aside, even when that open would not meet the damage
// itself (the writer remembers what it met). Real damaged files: one page
// of a real store file overwritten with random bytes, and SQLite itself
// confirming the damage.
#include "weft/drivers/store/store.hpp"

#include <fstream>
#include <future>
#include <random>

#include "../../drivers/src/store/writer.hpp"
#include "weft/core/log.hpp"

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

constexpr std::size_t kDbPage = 4096;

void scramble_page(const std::string& path, std::uint64_t page) {
  std::mt19937 rng(4242);
  std::string junk(kDbPage, '\0');
  for (auto& c : junk) c = static_cast<char>(rng());
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>((page - 1) * kDbPage));
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  REQUIRE(f.good());
}

std::size_t moved_aside_count(const TempDir& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("readings.db.corrupt-", 0) == 0 && name.find("-wal") == std::string::npos &&
        name.find("-shm") == std::string::npos)
      ++n;
  }
  return n;
}

// 3000 readings, closed cleanly (the WAL folded into the file). The
// readings' wall time is 1970, so any retention finds them all expired.
void fill(const store::StoreOptions& o, boost::asio::io_context& ioc) {
  store::StoreOptions plain = o;
  plain.retention = Duration::zero();
  plain.background_check = false;
  store::Store s(plain);
  run_sync(ioc, s.open());
  for (int i = 1; i <= 3000; ++i) s.append(sample("p", std::string(100, 'a')));
  REQUIRE(run_sync(ioc, s.flushed()) == 3000);
}

// The n-th leaf of the readings table in b-tree order (0: the oldest rows).
std::uint64_t readings_leaf(const std::string& path, const char* order, int offset) {
  return static_cast<std::uint64_t>(
      sql_int(path, std::string("SELECT pageno FROM dbstat WHERE name = 'readings' AND pagetype = 'leaf' ORDER BY "
                                "path ") + order + " LIMIT 1 OFFSET " + std::to_string(offset)));
}

void require_damaged(const std::string& path) {
  std::string check;
  try {
    check = sql_text(path, "PRAGMA quick_check");
  } catch (const store::sql::SqliteError& e) {
    check = e.what();
  }
  INFO("quick_check: " << check);
  REQUIRE(check != "ok");
}

bool has_corrupt_gap(const std::vector<store::Gap>& gaps) {
  for (const auto& g : gaps)
    if (g.why.rfind("database corrupt: moved aside to readings.db.corrupt-", 0) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("store: damage the open's own reads meet (not a check) moves the file aside", "[store][failure][corrupt_later]") {
  TempDir dir;
  auto o = options_for(dir.file("readings.db"));
  o.background_check = false;
  boost::asio::io_context ioc;
  fill(o, ioc);
  scramble_page(o.path, readings_leaf(o.path, "DESC", 0));  // finish_open reads max(seq) there
  require_damaged(o.path);

  store::Store s(o);
  run_sync(ioc, s.open());  // before: "database disk image is malformed", an open error every time
  CHECK(moved_aside_count(dir) == 1);
  CHECK(s.health().state == store::StoreHealth::State::open);
  CHECK(s.append(sample("p", std::int64_t{1})) > 3000);
  CHECK(has_corrupt_gap(run_sync(ioc, s.gaps())));
}

TEST_CASE("store: damage a write meets while running is moved aside at the next open, which does not meet it",
          "[store][failure][corrupt_later]") {
  TempDir dir;
  auto o = options_for(dir.file("readings.db"));
  o.background_check = false;
  boost::asio::io_context ioc;
  fill(o, ioc);
  scramble_page(o.path, readings_leaf(o.path, "ASC", 0));  // the oldest rows: only a prune reads them
  require_damaged(o.path);

  o.retention = std::chrono::hours(1);
  o.housekeeping_period = std::chrono::milliseconds(50);
  store::Store s(o);
  run_sync(ioc, s.open());  // the open does not read the oldest rows
  CHECK(moved_aside_count(dir) == 0);
  // Retention scans the oldest rows, meets the damage and gives up at once.
  const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(20));
  CHECK_THAT(why, Catch::Contains("retention failed") && Catch::Contains("corrupt"));
  CHECK(s.health().state == store::StoreHealth::State::failed);

  // Before: this open succeeded on the same damaged file, retention failed
  // again, and so on for ever (record restarting). Now it moves it aside.
  run_sync(ioc, s.open());
  CHECK(moved_aside_count(dir) == 1);
  CHECK(s.health().state == store::StoreHealth::State::open);
  CHECK(has_corrupt_gap(run_sync(ioc, s.gaps())));
  const std::string fresh = sql_text(o.path, "PRAGMA quick_check");
  CHECK(fresh == "ok");
}

TEST_CASE("store: damage only the background quick_check finds fails the store, and the next open moves it aside",
          "[store][failure][corrupt_later]") {
  TempDir dir;
  auto o = options_for(dir.file("readings.db"));
  boost::asio::io_context ioc;
  fill(o, ioc);
  scramble_page(o.path, readings_leaf(o.path, "ASC", 5));  // a middle leaf: no open or write reads it here
  require_damaged(o.path);

  store::Store s(o);
  run_sync(ioc, s.open());
  CHECK(moved_aside_count(dir) == 0);
  const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(30));
  CHECK_THAT(why, Catch::Contains("is corrupt (quick_check: "));
  const std::uint64_t waiting = s.append(sample("p", std::int64_t{7}));  // accepted while failed

  run_sync(ioc, s.open());
  CHECK(moved_aside_count(dir) == 1);
  CHECK(s.health().state == store::StoreHealth::State::open);
  CHECK(run_sync(ioc, s.flushed()) >= waiting);
  CHECK(has_corrupt_gap(run_sync(ioc, s.gaps())));
}

// Damage only a read on the reader's connection meets (the upload's
// queries, the console's `sql` and `store`): the writer may never read
// those pages, so before, the read failed and the box went on running on
// the corrupt file for ever. Now the read tells the writer: the store
// fails, the readings that arrive meanwhile wait in memory, and the next
// open moves the file aside whole (nothing more destroyed than the damage
// did) and commits them to a new file.
namespace {

struct ReadDamage {
  TempDir dir;
  store::StoreOptions o;
  boost::asio::io_context ioc;
  std::uintmax_t size = 0;
  ReadDamage() : o(options_for(dir.file("readings.db"))) {
    o.background_check = false;  // only the read may find it
    fill(o, ioc);
    size = std::filesystem::file_size(o.path);
    scramble_page(o.path, readings_leaf(o.path, "ASC", 5));  // a middle leaf: the open and the writes never read it
    require_damaged(o.path);
  }
  // After the store failed: a reading waits in memory, the next open moves
  // the file aside and commits it to a new file.
  void expect_moved_aside(store::Store& s, const std::string& by) {
    const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(20));  // before: never
    CHECK_THAT(why, Catch::Contains("is corrupt (a read by " + by + " met: ") &&
                        Catch::Contains("it is moved aside when the store opens again"));
    CHECK(s.health().state == store::StoreHealth::State::failed);
    const std::uint64_t waiting = s.append(sample("p", std::int64_t{7}));
    run_sync(ioc, s.open());
    REQUIRE(moved_aside_count(dir) == 1);
    CHECK(s.health().state == store::StoreHealth::State::open);
    CHECK(run_sync(ioc, s.flushed()) >= waiting);
    CHECK(sql_int(o.path, "SELECT count(*) FROM readings WHERE seq = " + std::to_string(waiting)) == 1);
    CHECK(has_corrupt_gap(run_sync(ioc, s.gaps())));
    CHECK(sql_text(o.path, "PRAGMA quick_check") == "ok");
    // The damaged file is kept whole beside it, for whoever wants what is
    // still readable in it.
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("readings.db.corrupt-", 0) == 0 && name.find('-', 20) == std::string::npos) {
        CHECK(std::filesystem::file_size(e.path()) == size);
        require_damaged(e.path().string());
      }
    }
  }
};

}  // namespace

TEST_CASE("store: damage an upload read meets fails the store, and the next open moves the file aside",
          "[store][failure][corrupt_later]") {
  ReadDamage d;
  store::Store s(d.o);
  run_sync(d.ioc, s.open());
  CHECK(moved_aside_count(d.dir) == 0);
  CHECK_THROWS_WITH(run_sync(d.ioc, s.undelivered(0, 10'000)), Catch::Contains("malformed"));
  d.expect_moved_aside(s, "upload");
}

TEST_CASE("store: damage the console's sql meets fails the store, and the next open moves the file aside",
          "[store][failure][corrupt_later]") {
  ReadDamage d;
  store::Store s(d.o);
  run_sync(d.ioc, s.open());
  store::QueryLimits limits;
  limits.max_rows = 100'000;
  CHECK_THROWS_AS(run_sync(d.ioc, s.query("SELECT * FROM readings", limits)), store::QueryError);
  d.expect_moved_aside(s, "the console's sql");
}

// A report is acted on only for the file it is about: after a corrupt file
// was moved aside, a late report from a read of the old file must not fail
// the new one.
TEST_CASE("store: damage reported for another file than the one at the path is ignored", "[store][failure][corrupt_later]") {
  TempDir dir;
  auto o = options_for(dir.file("readings.db"));
  o.background_check = false;
  store::AtomicCounters counters;
  store::Writer writer(o, counters, logging::make_logger("store"));
  std::promise<std::exception_ptr> opened;
  writer.open([&](std::exception_ptr e) { opened.set_value(e); });
  auto opened_future = opened.get_future();
  REQUIRE(opened_future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  REQUIRE_FALSE(opened_future.get());
  const auto now = store::FileId::of(o.path);
  REQUIRE(now);

  store::FileId old = *now;
  old.ino += 1;  // e.g. the file moved aside, still open on the reader's connection
  writer.report_corrupt("a read by upload met: database disk image is malformed", old);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(writer.health().state == store::StoreHealth::State::open);

  writer.report_corrupt("a read by upload met: database disk image is malformed", now);
  CHECK(eventually([&] { return writer.health().state == store::StoreHealth::State::failed; }));
  CHECK_THAT(writer.health().error, Catch::Contains("is corrupt (a read by upload met"));
}
