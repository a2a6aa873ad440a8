// The store when its file goes bad. A write error that persists (here the
// crash VFS failing every write: an SD card gone read-only or dead) is
// retried for error_deadline, then the writer gives up: flushed() and
// mark_delivered() fail instead of hanging, failure() says why, readings
// keep queueing (the oldest dropped past the capacity) and are recorded,
// with the dropped ones as lost, once the store opens again. A corrupt file
// (pages overwritten with random bytes) is moved aside at open, with its
// WAL, and the seqs it held are a gap above the delivered prefix.
#include "weft/drivers/store/store.hpp"

#include <fstream>
#include <random>

#include "store_crash_vfs.hpp"
#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

std::vector<std::filesystem::path> moved_aside(const TempDir& dir, const std::string& name) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    if (e.path().filename().string().rfind(name + ".corrupt-", 0) == 0) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Overwrites every page but the first with random bytes (fixed seed).
void scramble_pages(const std::string& path) {
  const auto size = std::filesystem::file_size(path);
  constexpr std::size_t kPage = 4096;
  REQUIRE(size >= 3 * kPage);
  std::mt19937 rng(12345);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  for (std::uint64_t off = kPage; off < size; off += kPage) {
    std::string junk(kPage, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    f.seekp(static_cast<std::streamoff>(off));
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
}

}  // namespace

TEST_CASE("store: a write error past error_deadline fails the store, and nothing hangs or is lost silently",
          "[store][failure]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("bad.db"));
  o.vfs = CrashVfs::kName;
  o.error_deadline = std::chrono::milliseconds(300);
  o.queue_capacity = 50;
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  for (int i = 1; i <= 10; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
  REQUIRE(run_sync(ioc, s.flushed()) == 10);

  vfs.crash();  // every write now fails with SQLITE_IOERR
  for (int i = 11; i <= 20; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
  // Before the writer had a deadline, this waited for ever.
  CHECK_THROWS_AS(run_sync(ioc, s.flushed(), std::chrono::seconds(15)), store::StoreError);
  const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(5));
  CHECK_THAT(why, Catch::Contains("bad.db") && Catch::Contains("giving up"));
  CHECK(s.health().state == store::StoreHealth::State::failed);
  CHECK_FALSE(s.is_open());
  CHECK_THROWS_AS(run_sync(ioc, s.mark_delivered(1, 10), std::chrono::seconds(5)), store::StoreError);

  // Still accepted while failed; past the capacity the oldest are dropped.
  std::uint64_t last = 0;
  for (int i = 21; i <= 100; ++i) last = s.append(sample("p", static_cast<std::int64_t>(i)));
  CHECK(last == 100);
  CHECK(s.counters().dropped == 40);  // 90 waiting, capacity 50: seqs 11..50 dropped, counted
  CHECK(s.counters().queue_depth == 50);

  vfs.heal();
  run_sync(ioc, s.open());
  CHECK(s.health().state == store::StoreHealth::State::open);
  CHECK(run_sync(ioc, s.flushed()) == 100);
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].first_seq == 11);
  CHECK(gaps[0].last_seq == 50);
  CHECK(gaps[0].why == "dropped (queue full)");
  const auto rows = run_sync(ioc, s.undelivered(0, 1000));
  REQUIRE(rows.size() == 60);
  CHECK(rows[9].seq == 10);
  CHECK(rows[10].seq == 51);
  CHECK(rows.back().seq == 100);
  run_sync(ioc, s.mark_delivered(1, 10));
}

TEST_CASE("store: a corrupt database is moved aside with its WAL and the seqs go on above the seq mark",
          "[store][failure]") {
  TempDir dir;
  const auto o = options_for(dir.file("readings.db"));
  boost::asio::io_context ioc;
  {
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 1; i <= 400; ++i) s.append(sample("p", std::string(100, 'a')));
    REQUIRE(run_sync(ioc, s.flushed()) == 400);
    run_sync(ioc, s.mark_delivered(1, 150));
  }
  scramble_pages(o.path);
  std::ofstream(o.path + "-wal") << "not a wal";
  bool corrupt = false;  // the damage is real: SQLite itself says so
  try {
    corrupt = sql_text(o.path, "PRAGMA quick_check") != "ok";
  } catch (const store::sql::SqliteError& e) {
    corrupt = e.is_corrupt();
  }
  REQUIRE(corrupt);

  store::Store s(o);
  run_sync(ioc, s.open());
  const auto aside = moved_aside(dir, "readings.db");
  REQUIRE(aside.size() == 3);  // the file, its -shm and its -wal (sorted)
  CHECK(aside[1].string() == aside[0].string() + "-shm");
  CHECK(aside[2].string() == aside[0].string() + "-wal");
  const auto h = s.health();
  CHECK(h.state == store::StoreHealth::State::open);
  REQUIRE(h.incidents.size() == 1);
  CHECK_THAT(h.incidents[0], Catch::Contains("was corrupt") && Catch::Contains("seqs 151..400"));
  const auto gaps = run_sync(ioc, s.gaps());
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].first_seq == 151);
  CHECK(gaps[0].last_seq == 400);
  CHECK_THAT(gaps[0].why, Catch::StartsWith("database corrupt: moved aside to readings.db.corrupt-"));
  CHECK(s.append(sample("p", 1.0)) == 401);
  CHECK(run_sync(ioc, s.flushed()) == 401);
}

// The worst moment to stop: the writer is inside its error retries (long
// before error_deadline) with a batch in hand and a flush waiting on it.
TEST_CASE("store: closing while the writer retries a write error is bounded and fails the waiters",
          "[store][failure]") {
  CrashVfs& vfs = CrashVfs::instance();
  TempDir dir;
  auto o = options_for(dir.file("stop.db"));
  o.vfs = CrashVfs::kName;
  o.error_deadline = std::chrono::minutes(10);
  boost::asio::io_context ioc;
  auto s = std::make_unique<store::Store>(o);
  run_sync(ioc, s->open());
  vfs.crash();
  for (int i = 0; i < 20; ++i) s->append(sample("p", static_cast<std::int64_t>(i)));
  std::exception_ptr flush_error;
  bool flush_done = false;
  bool flush_started = false;
  auto flush = [&]() -> boost::asio::awaitable<std::uint64_t> {
    flush_started = true;
    co_return co_await s->flushed();
  };
  boost::asio::co_spawn(ioc, flush(), [&](std::exception_ptr e, std::uint64_t) {
    flush_error = e;
    flush_done = true;
  });
  ioc.restart();  // run_sync left it stopped (out of work)
  for (int i = 0; i < 20; ++i) ioc.run_for(std::chrono::milliseconds(10));  // the writer is retrying now
  REQUIRE(flush_started);
  REQUIRE_FALSE(flush_done);  // the flush waits on the batch the writer cannot commit
  const auto t0 = std::chrono::steady_clock::now();
  s.reset();
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::seconds(8));  // the close budget is 3 s; a generous margin for a loaded box
  ioc.restart();
  for (int i = 0; i < 100 && !flush_done; ++i) ioc.run_for(std::chrono::milliseconds(10));
  CHECK(flush_done);
  CHECK(flush_error != nullptr);
  vfs.restore();
}
