// A really full file system under the store (ENOSPC from the kernel, not
// the store's own max_page_count): a real 16 MiB tmpfs, filled by the
// store itself. Before the ballast, nothing ever committed again once it
// was full (the prune's DELETE and the checkpoint need free blocks too):
// 58,700 rows, nothing deleted, no gap, flushed() waiting for ever.
// Expected now: every flush completes, the oldest readings are pruned
// (delivered first, the rest recorded as lost "pruned (disk full)"), only
// as many as the writes need, and the ballast is not made again by
// pruning for it. Needs root (mount): otherwise the test prints
// "SKIPPED: why" (ctest reports it skipped) and checks nothing.
#include "weft/drivers/store/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "store_support.hpp"
#include "tmpfs_mount.hpp"

using namespace weft;
using namespace weft::test;

namespace {

// Another program filling the card: appends 4 KiB blocks to `path` until
// the file system says ENOSPC. Returns the bytes it added.
std::uint64_t full_fs_fill_up(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const std::string block(4096, 'f');
  std::uint64_t added = 0;
  for (;;) {
    const ssize_t n = ::write(fd, block.data(), block.size());
    if (n > 0) {
      added += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    REQUIRE((n == 0 || errno == ENOSPC));
    break;
  }
  ::close(fd);
  return added;
}

}  // namespace

TEST_CASE("store: on a really full file system the ballast lets it prune, and commits go on", "[store][disk_full]") {
  TempDir dir;
  Tmpfs fs(dir.path / "card", "size=16m,mode=0700");
  if (!fs.mounted) {
    WARN("SKIPPED: cannot mount a 16 MiB tmpfs at " << fs.dir << " (" << fs.why
                                                     << "); this test needs root (CAP_SYS_ADMIN)");
    return;
  }
  auto o = options_for((fs.dir / "readings.db").string());
  o.batch_rows = 500;
  o.queue_capacity = 100'000;
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  const std::string ballast = o.path + ".ballast";
  CHECK((std::filesystem::exists(ballast) && std::filesystem::file_size(ballast) == o.ballast_bytes));

  const auto started = std::chrono::steady_clock::now();
  std::uint64_t last = 0;
  int rounds_after_loss = 0;
  int round = 0;
  // Readings held in the file (committed minus pruned): before the first
  // prune, and the least after it.
  std::uint64_t held_before_prune = 0;
  std::uint64_t least_held_after = std::numeric_limits<std::uint64_t>::max();
  for (; round < 600 && rounds_after_loss < 40; ++round) {
    for (int i = 0; i < 1000; ++i) last = s.append(sample("p", std::string(200, 'x')));
    // Bounded: before, this waited for ever once the file system was full.
    REQUIRE(run_sync(ioc, s.flushed(), std::chrono::seconds(60)) == last);
    if (round == 10) run_sync(ioc, s.mark_delivered(1, 5000));
    const auto now = s.counters();
    const std::uint64_t pruned = now.pruned_delivered + now.pruned_undelivered;
    if (pruned == 0) held_before_prune = last;
    else least_held_after = std::min(least_held_after, last - pruned);
    if (now.pruned_undelivered > 0) ++rounds_after_loss;
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto c = s.counters();
  INFO(round << " rounds, " << last << " readings in " << took << " s; disk_full " << c.disk_full << ", pruned "
             << c.pruned_delivered << " delivered + " << c.pruned_undelivered << " undelivered; file "
             << c.db_size_bytes << " bytes");
  WARN("full file system: " << last << " readings committed in " << took << " s, " << c.disk_full
                            << " SQLITE_FULL met, pruned " << c.pruned_delivered << " delivered and "
                            << c.pruned_undelivered << " undelivered");
  CHECK(rounds_after_loss == 40);  // 40 rounds (40,000 readings) committed after the first loss
  CHECK(c.disk_full > 0);
  CHECK(c.pruned_delivered == 5000);  // delivered rows went first
  CHECK(c.committed_seq == last);
  CHECK(s.health().state == store::StoreHealth::State::open);
  const auto gaps = run_sync(ioc, s.gaps());
  std::uint64_t lost = 0;
  for (const auto& g : gaps) {
    CHECK(g.why == "pruned (disk full)");
    lost += g.last_seq - g.first_seq + 1;
  }
  CHECK(lost == c.pruned_undelivered);
  REQUIRE_FALSE(gaps.empty());
  CHECK(gaps.front().first_seq == 5001);  // the oldest undelivered, after the delivered prefix
  // Only what the writes needed: the store fills this card itself, so once
  // it prunes, each new 1,000 needs about 1,000 old ones deleted and the
  // file holds about as many readings as before (a round's worth of
  // slack). Before, each episode pruned until the ballast and 2 MiB more
  // fitted: about 20,000 readings at once on this card.
  WARN("readings held: " << held_before_prune << " before the first prune, at least " << least_held_after
                         << " after it");
  CHECK(least_held_after + 1000 >= held_before_prune);
  // The whole ballast was not made again by pruning for it (no room frees
  // up here): only its reserve, a quarter, kept for the next prune.
  REQUIRE(std::filesystem::exists(ballast));
  CHECK(std::filesystem::file_size(ballast) == o.ballast_bytes / 4);
  // The newest readings are all there.
  const auto newest = run_sync(ioc, s.newest_undelivered(10));
  REQUIRE(newest.size() == 10);
  CHECK(newest.front().seq == last - 9);
}

// A card that other programs have filled almost up (5 MiB free): too
// little room at open for the ballast, and the store's own size cap
// (hard_max_db_size: SQLITE_FULL from max_page_count) is what stops the
// commits, not the file system. Room for the next commits is what the
// store needs, found by pruning a little, as the cap's prune does; the
// full-disk path's target "the ballast fits again" cannot be reached on
// this card at all, and chasing it deleted the whole database (every
// undelivered reading recorded as lost) at the first SQLITE_FULL.
TEST_CASE("store: at its size cap on a nearly full card without a ballast it prunes a little, not the whole file",
          "[store][disk_full]") {
  TempDir dir;
  Tmpfs fs(dir.path / "card", "size=16m,mode=0700");
  if (!fs.mounted) {
    WARN("SKIPPED: cannot mount a 16 MiB tmpfs at " << fs.dir << " (" << fs.why
                                                     << "); this test needs root (CAP_SYS_ADMIN)");
    return;
  }
  {
    std::ofstream filler(fs.dir / "other.bin", std::ios::binary);  // another program's 11 MiB
    const std::string block(64 * 1024, 'f');
    for (int i = 0; i < 176; ++i) filler << block;
  }
  auto o = options_for((fs.dir / "readings.db").string());
  o.batch_rows = 500;
  o.queue_capacity = 100'000;
  o.hard_max_db_size = 1u << 20;
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  REQUIRE_FALSE(std::filesystem::exists(o.path + ".ballast"));  // the premise: no room for it

  std::uint64_t last = 0;
  std::uint64_t committed_before_loss = 0;
  for (int round = 0; round < 200 && s.counters().pruned_undelivered == 0; ++round) {
    committed_before_loss = last;
    for (int i = 0; i < 500; ++i) last = s.append(sample("p", std::string(200, 'x')));
    REQUIRE(run_sync(ioc, s.flushed(), std::chrono::seconds(60)) == last);
  }
  const auto c = s.counters();
  INFO(last << " readings; " << committed_before_loss << " committed before the first loss; disk_full "
            << c.disk_full << ", pruned " << c.pruned_delivered << " delivered + " << c.pruned_undelivered
            << " undelivered");
  REQUIRE(c.pruned_undelivered > 0);  // the cap was reached
  // Room for one more round of 500 was needed, not the whole file's worth.
  CHECK(c.pruned_undelivered < committed_before_loss / 2);
  const auto newest = run_sync(ioc, s.newest_undelivered(10));
  REQUIRE(newest.size() == 10);
  CHECK(newest.front().seq == last - 9);
}

// A card another program fills to the last block, with the store's ballast
// made while there was room. Three quarters of the ballast are all the
// next write needs: nothing may be pruned for it (the last quarter is kept
// as the room a prune needs). Once the other program has taken
// that room too, each write needs about its own size freed: the oldest
// delivered readings go first, then the oldest undelivered (recorded as
// lost), and only about as many as the writes hold. Before, the store
// pruned until its ballast and 2 MiB more fitted again, which on this card
// can never happen: it deleted the whole database at the first SQLITE_FULL,
// undelivered readings included (up to 64 rounds of 1 MiB).
TEST_CASE("store: on a card other files fill, the store prunes only what the failed write needs",
          "[store][disk_full]") {
  TempDir dir;
  Tmpfs fs(dir.path / "card", "size=16m,mode=0700");
  if (!fs.mounted) {
    WARN("SKIPPED: cannot mount a 16 MiB tmpfs at " << fs.dir << " (" << fs.why
                                                     << "); this test needs root (CAP_SYS_ADMIN)");
    return;
  }
  auto o = options_for((fs.dir / "readings.db").string());
  o.batch_rows = 500;
  o.queue_capacity = 100'000;
  o.housekeeping_period = std::chrono::hours(1);  // no ballast made again behind the test's back
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  const std::string ballast = o.path + ".ballast";
  REQUIRE(std::filesystem::exists(ballast));

  std::uint64_t last = 0;
  const auto append_and_flush = [&](int n) {
    for (int i = 0; i < n; ++i) last = s.append(sample("p", std::string(200, 'x')));
    REQUIRE(run_sync(ioc, s.flushed(), std::chrono::seconds(60)) == last);
  };
  append_and_flush(4000);  // about 1.3 MiB of readings
  run_sync(ioc, s.mark_delivered(1, 1000));
  const auto held = [&] {
    return static_cast<std::uint64_t>(sql_int(o.path, "SELECT count(*) FROM readings"));
  };
  REQUIRE(held() == 4000);

  // 1. The card is full; the ballast's room is enough for the next 500.
  const std::filesystem::path other = fs.dir / "other.bin";
  const std::uint64_t filled = full_fs_fill_up(other);
  append_and_flush(500);
  auto c = s.counters();
  INFO("other program wrote " << filled << " bytes; disk_full " << c.disk_full << ", pruned " << c.pruned_delivered
                              << " delivered + " << c.pruned_undelivered << " undelivered");
  CHECK(c.disk_full > 0);
  REQUIRE(std::filesystem::exists(ballast));
  CHECK(std::filesystem::file_size(ballast) == o.ballast_bytes / 4);  // 3 MiB given to the write, the reserve kept
  CHECK(c.pruned_delivered + c.pruned_undelivered == 0);  // before: all 4,000 (then 500 more) deleted
  CHECK(held() == 4500);

  // 2. The other program takes every block that frees up, before each
  // round of 500: once the store's own slack (free pages, the WAL's
  // blocks) is used up, every write must free its own room. The 1,000
  // delivered readings go first, then the oldest undelivered, recorded as
  // lost; the file keeps about as many readings as it held (a round's
  // worth of slack either way).
  std::uint64_t most_held_before = held();
  std::uint64_t least_held_after = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t appended_after = 0;
  int rounds_after_loss = 0;
  for (int round = 0; round < 80 && rounds_after_loss < 4; ++round) {
    full_fs_fill_up(other);
    append_and_flush(500);
    c = s.counters();
    const std::uint64_t now_held = held();
    if (c.pruned_delivered + c.pruned_undelivered == 0) {
      most_held_before = std::max(most_held_before, now_held);
    } else {
      least_held_after = std::min(least_held_after, now_held);
      appended_after += 500;
    }
    if (c.pruned_undelivered > 0) ++rounds_after_loss;
  }
  c = s.counters();
  const std::uint64_t pruned = c.pruned_delivered + c.pruned_undelivered;
  WARN("a card filled by another program: " << last << " readings written (" << appended_after
                                            << " once pruning had begun), " << c.disk_full
                                            << " SQLITE_FULL met; pruned " << c.pruned_delivered << " delivered and "
                                            << c.pruned_undelivered << " undelivered; readings held: at most "
                                            << most_held_before << " before the first prune, at least "
                                            << least_held_after << " after it");
  REQUIRE(rounds_after_loss == 4);  // the card did run out of room
  CHECK(c.pruned_delivered == 1000);  // delivered first: all of them
  // About what the writes needed, not the whole file: before, the first
  // prune went on until the ballast and 2 MiB more fitted, which this card
  // never allows (the whole file and its undelivered readings deleted).
  // A write may once need about twice its size (its frames in the WAL,
  // then its pages in the database file at the checkpoint), so the bound
  // is what was written after the first prune plus three batches.
  INFO(appended_after << " readings written once pruning had begun");
  CHECK(least_held_after + 3 * o.batch_rows >= most_held_before);
  CHECK(pruned <= appended_after + 3 * o.batch_rows);
  CHECK(held() == last - pruned);
  CHECK(c.committed_seq == last);
  CHECK(s.health().state == store::StoreHealth::State::open);
  // Every undelivered reading deleted is a gap with its reason.
  const auto gaps = run_sync(ioc, s.gaps());
  std::uint64_t lost = 0;
  for (const auto& g : gaps) {
    CHECK(g.why == "pruned (disk full)");
    lost += g.last_seq - g.first_seq + 1;
  }
  CHECK(lost == c.pruned_undelivered);
  REQUIRE_FALSE(gaps.empty());
  CHECK(gaps.front().first_seq == 1001);  // the oldest undelivered
  // The newest readings are all there.
  const auto newest = run_sync(ioc, s.newest_undelivered(10));
  REQUIRE(newest.size() == 10);
  CHECK(newest.front().seq == last - 9);
}

// A card smaller than the default ballast wants (3 MiB: a 4 MiB SD card
// partition, an overlay's data part), filled by the store itself with
// readings as small as weftd's (a double each). Before, no ballast could
// be made (4 MiB plus half again), the WAL grew to its default checkpoint
// size (1,000 pages, 4 MiB) before its first checkpoint, so the card filled
// with nothing but WAL (the database file 4 KiB, the WAL 2.1 MiB in the
// weftd run of tests/integration/store_disk_full_weftd.sh) and the fold
// that would make room needed as much room again: nothing committed,
// nothing was pruned, and past error_deadline the store gave up on the
// file (record restarted every 10 s, weftd escalated). Expected now: the
// ballast is fitted to the card (at most a quarter of it), the WAL is
// folded before it holds an eighth of the card, and the store prunes its
// oldest readings (recorded as lost "pruned (disk full)") and goes on.
TEST_CASE("store: on a card smaller than the ballast wants, the store fills it and goes on committing",
          "[store][disk_full]") {
  TempDir dir;
  Tmpfs fs(dir.path / "card", "size=3m,mode=0700");
  if (!fs.mounted) {
    WARN("SKIPPED: cannot mount a 3 MiB tmpfs at " << fs.dir << " (" << fs.why
                                                    << "); this test needs root (CAP_SYS_ADMIN)");
    return;
  }
  auto o = options_for((fs.dir / "readings.db").string());
  o.batch_rows = 500;
  o.queue_capacity = 100'000;
  o.error_deadline = std::chrono::seconds(3);  // before: the give-up came after this
  REQUIRE(o.ballast_bytes == 4u << 20);        // the default, bigger than the card
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  const std::string ballast = o.path + ".ballast";
  constexpr std::uint64_t card = 3u << 20;
  REQUIRE(std::filesystem::exists(ballast));  // before: none ("6144 KiB needed")
  CHECK(std::filesystem::file_size(ballast) <= card / 4);

  std::uint64_t last = 0;
  std::uint64_t wal_most = 0;
  int rounds_after_loss = 0;
  int round = 0;
  for (; round < 400 && rounds_after_loss < 30; ++round) {
    for (int i = 0; i < 1000; ++i) last = s.append(sample("box.uptime_s", 1.5 + i));
    // Before: StoreError (the store gave up on the file) once the card was full.
    REQUIRE(run_sync(ioc, s.flushed(), std::chrono::seconds(60)) == last);
    std::error_code ec;
    wal_most = std::max<std::uint64_t>(wal_most, std::filesystem::file_size(o.path + "-wal", ec));
    if (s.counters().pruned_undelivered > 0) ++rounds_after_loss;
  }
  const auto c = s.counters();
  WARN("a 3 MiB card: " << last << " readings in " << round << " rounds, " << c.disk_full << " SQLITE_FULL met, pruned "
                        << c.pruned_undelivered << " undelivered; WAL at most " << wal_most << " bytes, file "
                        << c.db_size_bytes << " bytes");
  REQUIRE(rounds_after_loss == 30);  // 30,000 readings committed after the first loss
  CHECK(c.disk_full > 0);
  CHECK(s.health().state == store::StoreHealth::State::open);
  CHECK(c.committed_seq == last);
  CHECK(wal_most <= card / 4);  // folded long before it could fill the card
  const auto gaps = run_sync(ioc, s.gaps());
  std::uint64_t lost = 0;
  for (const auto& g : gaps) {
    CHECK(g.why == "pruned (disk full)");
    lost += g.last_seq - g.first_seq + 1;
  }
  CHECK(lost == c.pruned_undelivered);
  REQUIRE_FALSE(gaps.empty());
  CHECK(gaps.front().first_seq == 1);
  const auto newest = run_sync(ioc, s.newest_undelivered(10));
  REQUIRE(newest.size() == 10);
  CHECK(newest.front().seq == last - 9);
}
