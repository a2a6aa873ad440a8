// Nothing is lost silently: a full queue drops its oldest readings and
// records them as a gap; retention and the size cap delete delivered rows
// first and record deleted undelivered ones as gaps; a full disk
// (SQLITE_FULL, here from PRAGMA max_page_count) prunes and goes on.
#include "weft/drivers/store/store.hpp"

#include <algorithm>

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

std::int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ~200 bytes per row, so a few hundred rows fill a page-count cap quickly.
Reading bulky(std::int64_t i) {
  return Reading{"bulk", std::string(200, static_cast<char>('a' + i % 26)), Quality::good, i, BootId::current(),
                 wall_now()};
}

bool has_gap(const std::vector<store::Gap>& gaps, const std::string& why) {
  return std::any_of(gaps.begin(), gaps.end(), [&](const store::Gap& g) { return g.why == why; });
}

}  // namespace

TEST_CASE("store: a full queue drops its oldest readings, counted and recorded as a gap", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("q.db"));
  o.queue_capacity = 5;
  o.batch_rows = 1000;
  o.batch_age = std::chrono::hours(1);  // the writer takes nothing until close
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 1; i <= 8; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
    const auto c = s.counters();
    CHECK(c.dropped == 3);
    CHECK(c.queue_depth == 5);
  }  // closing commits the 5 and the gap
  store::Store s(o);
  run_sync(ioc, s.open());
  CHECK(s.committed_seq() == 8);
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].first_seq == 1);
  CHECK(gaps[0].last_seq == 3);
  CHECK(gaps[0].why == "dropped (queue full)");
  const auto rows = run_sync(ioc, s.undelivered(0, 100));
  REQUIRE(rows.size() == 5);
  CHECK(rows.front().seq == 4);
  CHECK(rows.back().seq == 8);
  CHECK(s.append(sample("p", 9.0)) == 9);  // the sequence goes on after the gap
}

TEST_CASE("store: retention deletes old readings, the undelivered ones become a gap", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("r.db"));
  o.retention = std::chrono::hours(1);
  o.housekeeping_period = std::chrono::milliseconds(10);
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  const std::int64_t old_wall = wall_now() - std::chrono::nanoseconds(std::chrono::hours(2)).count();
  const BootId boot = BootId::parse("22222222-2222-4333-8444-555555555555");  // no clock event: wall_ns is used
  for (int i = 1; i <= 10; ++i) s.append(Reading{"old", 1.0, Quality::good, i, boot, old_wall + i});
  for (int i = 11; i <= 15; ++i) s.append(Reading{"new", 1.0, Quality::good, i, boot, wall_now()});
  // Deliver 1..4 before retention runs: they are pruned as delivered.
  REQUIRE(run_sync(ioc, s.flushed()) == 15);
  run_sync(ioc, s.mark_delivered(1, 4));
  REQUIRE(eventually([&] { return s.counters().pruned_delivered + s.counters().pruned_undelivered == 10; }));
  const auto c = s.counters();
  // Retention may have run between the flush and the mark: 1..4 then count as lost.
  CHECK(c.pruned_delivered + c.pruned_undelivered == 10);
  const auto rows = run_sync(ioc, s.undelivered(0, 100));
  REQUIRE(rows.size() == 5);
  CHECK(rows.front().seq == 11);
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE_FALSE(gaps.empty());
  CHECK(gaps.back().last_seq == 10);
  CHECK(gaps.back().why == "pruned (retention)");
  std::uint64_t lost = 0;
  for (const auto& g : gaps) lost += g.last_seq - g.first_seq + 1;
  CHECK(lost == c.pruned_undelivered);
}

TEST_CASE("store: the size cap deletes delivered rows first, then undelivered ones as lost", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("cap.db"));
  o.max_db_size = 256 * 1024;
  o.hard_max_db_size = 4 * 1024 * 1024;  // the soft cap is what acts here
  o.batch_rows = 100;
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  // ~ 200 KiB of rows, all delivered.
  std::int64_t i = 0;
  for (; i < 800; ++i) s.append(bulky(i));
  const std::uint64_t delivered_top = run_sync(ioc, s.flushed());
  run_sync(ioc, s.mark_delivered(1, delivered_top));
  REQUIRE(s.counters().pruned_undelivered == 0);
  // Another ~ 200 KiB: the cap is crossed, and delivered rows make the room.
  for (; i < 1600; ++i) s.append(bulky(i));
  run_sync(ioc, s.flushed());
  auto c = s.counters();
  CHECK(c.pruned_delivered > 0);
  CHECK(c.pruned_undelivered == 0);
  CHECK(run_sync(ioc, s.gaps()).empty());
  // Much more, never delivered: once the delivered rows are gone, the oldest undelivered go, as a gap.
  for (; i < 4000; ++i) {
    s.append(bulky(i));
    if (i % 400 == 0) run_sync(ioc, s.flushed());
  }
  const std::uint64_t top = run_sync(ioc, s.flushed());
  CHECK(top == 4000);
  c = s.counters();
  CHECK(c.pruned_delivered == delivered_top);  // every delivered row went before any undelivered one
  CHECK(c.pruned_undelivered > 0);
  CHECK(c.db_size_bytes <= o.max_db_size + o.max_db_size / 4);
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE_FALSE(gaps.empty());
  CHECK(has_gap(gaps, "pruned (size cap)"));
  CHECK(gaps.front().first_seq == delivered_top + 1);
  // The counter and the recorded gaps agree once the writer is idle.
  CHECK(eventually([&] {
    std::uint64_t lost = 0;
    for (const auto& g : run_sync(ioc, s.gaps())) lost += g.last_seq - g.first_seq + 1;
    return lost == s.counters().pruned_undelivered;
  }));
  // Every seq is accounted for: a row, a delivered-and-pruned seq, or a gap
  // (read in one snapshot: the writer may still be pruning).
  store::sql::Db db(o.path, store::sql::OpenMode::read_only);
  db.busy_timeout(5000);
  store::sql::Transaction snapshot(db, store::sql::Transaction::Kind::read);
  const std::int64_t rows = db.query_int("SELECT count(*) FROM readings");
  const std::int64_t lost_now = db.query_int("SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM lost");
  const std::int64_t low = db.query_int("SELECT min(seq) FROM readings");
  CHECK(rows + lost_now + static_cast<std::int64_t>(delivered_top) == static_cast<std::int64_t>(top));
  CHECK(low == static_cast<std::int64_t>(delivered_top) + lost_now + 1);  // the oldest went, contiguously
}

TEST_CASE("store: a full disk (SQLITE_FULL) prunes and carries on, no crash loop", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("full.db"));
  o.max_db_size = 0;                 // no soft cap: the hard ceiling is hit
  o.hard_max_db_size = 160 * 1024;   // PRAGMA max_page_count: writes past it fail with SQLITE_FULL
  o.batch_rows = 50;
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  std::int64_t i = 0;
  for (; i < 300; ++i) s.append(bulky(i));
  const std::uint64_t delivered_top = run_sync(ioc, s.flushed());
  run_sync(ioc, s.mark_delivered(1, delivered_top));
  for (; i < 3000; ++i) {
    s.append(bulky(i));
    if (i % 300 == 0) run_sync(ioc, s.flushed());
  }
  CHECK(run_sync(ioc, s.flushed()) == 3000);  // every batch got in eventually
  const auto c = s.counters();
  CHECK(c.disk_full > 0);
  CHECK(c.pruned_delivered == delivered_top);
  CHECK(c.pruned_undelivered > 0);
  CHECK(c.rows_written == 3000);
  CHECK(has_gap(run_sync(ioc, s.gaps()), "pruned (disk full)"));
  CHECK(sql_text(o.path, "PRAGMA integrity_check") == "ok");
}

// A wall clock that jumps ahead (here: readings stamped a day behind, the
// state between an NTP step and the store receiving its clock event) must
// not expire a day of readings: retention measures age against the newest
// row's corrected time when that is earlier than the wall clock.
TEST_CASE("store: retention after a forward wall-clock jump deletes only what is old in the rows' own frame", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("j.db"));
  o.retention = std::chrono::hours(1);
  o.housekeeping_period = std::chrono::milliseconds(10);
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  const std::int64_t day = std::chrono::nanoseconds(std::chrono::hours(24)).count();
  const std::int64_t two_hours = std::chrono::nanoseconds(std::chrono::hours(2)).count();
  const BootId boot = BootId::parse("33333333-2222-4333-8444-555555555555");  // no clock event: wall_ns is used
  const std::int64_t behind = wall_now() - day;
  for (int i = 1; i <= 5; ++i) s.append(Reading{"old", 1.0, Quality::good, i, boot, behind - two_hours + i});
  for (int i = 6; i <= 10; ++i) s.append(Reading{"recent", 1.0, Quality::good, i, boot, behind + i});
  REQUIRE(run_sync(ioc, s.flushed()) == 10);
  REQUIRE(eventually([&] { return s.counters().pruned_undelivered >= 5; }));
  const auto rows = run_sync(ioc, s.undelivered(0, 100));
  CHECK(s.counters().pruned_undelivered == 5);  // before: all 10, a wall-clock day "old"
  REQUIRE(rows.size() == 5);
  CHECK(rows.front().seq == 6);
}
