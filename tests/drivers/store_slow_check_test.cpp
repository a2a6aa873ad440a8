// The store's open on a slow card (the crash VFS with a delay on every
// read). SQLite 3.40 walks every b-tree of quick_check in one VM step, with
// no progress callback inside it: damage is reported first, and the budget's
// interrupt lands only afterwards. Reported damage must still move the file
// aside (else every open fails on it: record restarts for ever).
#include "weft/drivers/store/store.hpp"

#include <fstream>
#include <random>

#include "store_crash_vfs.hpp"
#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

// Random bytes over pages [first, last) (1-based page numbers, 4 KiB).
void scramble(const std::string& path, std::uint64_t first, std::uint64_t last) {
  constexpr std::size_t kPage = 4096;
  std::mt19937 rng(777);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  for (std::uint64_t page = first; page < last; ++page) {
    std::string junk(kPage, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    f.seekp(static_cast<std::streamoff>((page - 1) * kPage));
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
}

std::size_t moved_aside_count(const TempDir& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    if (e.path().filename().string().rfind("readings.db.corrupt-", 0) == 0 &&
        e.path().string().find("-wal") == std::string::npos && e.path().string().find("-shm") == std::string::npos)
      ++n;
  return n;
}

}  // namespace

namespace {

// Writes 3000 readings and closes (clean: the WAL is folded into the file).
void fill(const store::StoreOptions& o, boost::asio::io_context& ioc) {
  CrashVfs::instance();  // registers the VFS
  store::Store s(o);
  run_sync(ioc, s.open());
  for (int i = 1; i <= 3000; ++i) s.append(sample("p", std::string(100, 'a')));
  REQUIRE(run_sync(ioc, s.flushed()) == 3000);
}

std::string quick_check(const std::string& path) {
  try {
    return sql_text(path, "PRAGMA quick_check");
  } catch (const store::sql::SqliteError& e) {
    return e.what();
  }
}

struct Opened {
  std::string error;
  double seconds = 0;
};
Opened open_slowly(store::Store& s, boost::asio::io_context& ioc, std::chrono::microseconds delay) {
  CrashVfs::instance().set_read_delay(delay);
  Opened r;
  const auto started = std::chrono::steady_clock::now();
  try {
    run_sync(ioc, s.open(), std::chrono::seconds(90));
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CrashVfs::instance().set_read_delay(std::chrono::microseconds(0));
  return r;
}

}  // namespace

// One damaged page (the last leaf of readings, which finish_open reads for
// max(seq)): quick_check walks on past it, reports it, and the budget's
// interrupt then lands in the column checks.
TEST_CASE("store: damage that quick_check reported is acted on although the budget ran out",
          "[store][failure][slow_check]") {
  TempDir dir;
  auto o = options_for(dir.file("readings.db"));
  o.vfs = CrashVfs::kName;
  boost::asio::io_context ioc;
  fill(o, ioc);
  const auto last_leaf = static_cast<std::uint64_t>(
      sql_int(o.path, "SELECT pageno FROM dbstat WHERE name = 'readings' AND pagetype = 'leaf' ORDER BY path DESC LIMIT 1"));
  scramble(o.path, last_leaf, last_leaf + 1);
  const std::string check = quick_check(o.path);
  INFO("quick_check on the damaged file (page " << last_leaf << "): " << check);
  REQUIRE(check != "ok");

  store::Store s(o);
  const Opened r = open_slowly(s, ioc, std::chrono::milliseconds(60));
  INFO("open took " << r.seconds << " s; error: '" << r.error << "'");
  CHECK(moved_aside_count(dir) == 1);
  CHECK(r.error.empty());
  CHECK(s.health().state == store::StoreHealth::State::open);
}

// A whole file on a slow card: the open reads a few pages, not the file
// (quick_check runs after it, in the background), so it cannot be pushed
// past record's start timeout (10 s) by the file's size. Proven by counting
// the VFS's reads, not by a clock: at 100 ms a read, the old open (with
// quick_check in it) read every page and took 10.5 s here.
TEST_CASE("store: the open on a slow card reads a few pages, not the whole file", "[store][slow_check]") {
  TempDir dir;
  auto o = options_for(dir.file("readings.db"));
  o.vfs = CrashVfs::kName;
  boost::asio::io_context ioc;
  fill(o, ioc);
  const auto pages = static_cast<std::uint64_t>(sql_int(o.path, "PRAGMA page_count"));
  store::Store s(o);
  const std::uint64_t before = CrashVfs::instance().reads();
  const Opened r = open_slowly(s, ioc, std::chrono::milliseconds(100));
  const std::uint64_t reads = CrashVfs::instance().reads() - before;
  INFO("open took " << r.seconds << " s, " << reads << " reads, the file has " << pages << " pages; error: '"
                    << r.error << "'");
  CHECK(r.error.empty());
  CHECK(s.health().state == store::StoreHealth::State::open);
  REQUIRE(pages > 80);
  // The open's own reads (header, schema, the last leaves), plus at most a
  // few of the background check's that start as the open completes.
  CHECK(reads < pages / 2);
  // The check is still walking the slow file; the store's close interrupts
  // it (else this destructor would wait for the rest of the walk).
}
