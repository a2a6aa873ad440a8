// Batching: readings are committed in one transaction per batch_rows
// readings, or when the oldest has waited batch_age; flushed() resumes
// once everything appended before it is committed; seqs are 1, 2, 3...
#include "weft/drivers/store/store.hpp"

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

TEST_CASE("store: a full batch is committed by count, the rest waits for its age", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("b.db"));
  o.batch_rows = 10;
  o.batch_age = std::chrono::hours(1);  // only the count can trigger a commit
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  for (int i = 1; i <= 25; ++i) CHECK(s.append(sample("p", static_cast<std::int64_t>(i))) == static_cast<std::uint64_t>(i));
  REQUIRE(eventually([&] { return s.committed_seq() == 20; }));
  const auto c = s.counters();
  CHECK(c.batches == 2);
  CHECK(c.rows_written == 20);
  CHECK(c.queue_depth == 5);  // below batch_rows and younger than batch_age: not committed
  CHECK(sql_int(o.path, "SELECT count(*) FROM readings") == 20);
}

TEST_CASE("store: a partial batch is committed once its oldest reading is batch_age old", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("b.db"));
  o.batch_rows = 1000;
  o.batch_age = std::chrono::milliseconds(20);
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  s.append(sample("p", 1.0));
  s.append(sample("p", 2.0));
  s.append(sample("p", 3.0));
  CHECK(run_sync(ioc, s.flushed()) == 3);
  const auto c = s.counters();
  CHECK(c.batches == 1);  // one transaction for the three
  CHECK(c.rows_written == 3);
  CHECK(c.committed_seq == 3);
}

TEST_CASE("store: flushed() with nothing pending resumes at once with the watermark", "[store]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("b.db")));
  run_sync(ioc, s.open());
  CHECK(run_sync(ioc, s.flushed()) == 0);
  s.append(sample("p", 1.0));
  CHECK(run_sync(ioc, s.flushed()) == 1);
  CHECK(run_sync(ioc, s.flushed()) == 1);
}

TEST_CASE("store: closing commits what is queued", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("b.db"));
  o.batch_rows = 1000;
  o.batch_age = std::chrono::hours(1);
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 0; i < 7; ++i) s.append(sample("p", 1.0));
  }
  CHECK(sql_int(o.path, "SELECT count(*) FROM readings") == 7);
  CHECK(sql_int(o.path, "SELECT max(seq) FROM readings") == 7);
}

TEST_CASE("store: values, quality and timestamps round-trip", "[store]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("v.db")));
  run_sync(ioc, s.open());
  const BootId boot = BootId::parse("0b7c1f3e-1a2b-4c5d-8e9f-001122334455");
  s.append(Reading{"d", 1.5, Quality::good, 100, boot, 1'000'100});
  s.append(Reading{"nan", std::numeric_limits<double>::quiet_NaN(), Quality::comm_error, 200, boot, 1'000'200});
  s.append(Reading{"i", std::int64_t{-42}, Quality::stale, 300, boot, 1'000'300});
  s.append(Reading{"b", true, Quality::good, 400, boot, 1'000'400});
  s.append(Reading{"s", std::string("h\u00e9llo"), Quality::good, 500, boot, 1'000'500});
  run_sync(ioc, s.flushed());
  const auto rows = run_sync(ioc, s.undelivered(0, 100));
  REQUIRE(rows.size() == 5);
  CHECK(std::get<double>(rows[0].reading.value) == 1.5);
  CHECK(std::isnan(std::get<double>(rows[1].reading.value)));
  CHECK(rows[1].reading.quality == Quality::comm_error);
  CHECK(std::get<std::int64_t>(rows[2].reading.value) == -42);
  CHECK(rows[2].reading.quality == Quality::stale);
  CHECK(std::get<bool>(rows[3].reading.value) == true);
  CHECK(std::get<std::string>(rows[4].reading.value) == "h\u00e9llo");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].seq == i + 1);
    CHECK(rows[i].reading.boot == boot);
    CHECK(rows[i].reading.mono_ns == static_cast<std::int64_t>(100 * (i + 1)));
    CHECK(rows[i].reading.wall_ns == static_cast<std::int64_t>(1'000'000 + 100 * (i + 1)));
    CHECK(rows[i].corrected_wall_ns == rows[i].reading.wall_ns);  // no clock event for this boot
  }
}

TEST_CASE("store: clock events correct the wall time of a boot's readings", "[store]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("c.db")));
  run_sync(ioc, s.open());
  const BootId boot = BootId::parse("11111111-2222-4333-8444-555555555555");
  // Booted in 1970 (wall = mono + 5 s), then the clock was set: offset 1.7e18.
  s.record_clock_event(boot, 0, 5'000'000'000);
  s.append(Reading{"t", 1.0, Quality::good, 10'000'000'000, boot, 15'000'000'000});
  s.record_clock_event(boot, 20'000'000'000, 1'700'000'000'000'000'000);
  s.append(Reading{"t", 2.0, Quality::good, 30'000'000'000, boot, 1'700'000'030'000'000'000});
  run_sync(ioc, s.flushed());
  const auto rows = run_sync(ioc, s.undelivered(0, 10));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].corrected_wall_ns == 1'700'000'010'000'000'000);  // the latest offset applies
  CHECK(rows[1].corrected_wall_ns == 1'700'000'030'000'000'000);
  CHECK(run_sync(ioc, s.wall_offset(boot)) == std::optional<std::int64_t>(1'700'000'000'000'000'000));
  CHECK_FALSE(run_sync(ioc, s.wall_offset(BootId::parse("99999999-2222-4333-8444-555555555555"))).has_value());
}
