// A really full file system under the store (ENOSPC from the kernel, not
// the store's own max_page_count): a real 16 MiB tmpfs, filled by the
// store itself. Before the ballast, nothing ever committed again once it
// was full (the prune's DELETE and the checkpoint need free blocks too):
// 58,700 rows, nothing deleted, no gap, flushed() waiting for ever.
// Expected now: every flush completes, the oldest readings are pruned
// (delivered first, the rest recorded as lost "pruned (disk full)"), and
// the ballast is back once room is made. Needs root (mount): otherwise
// the test says so and checks nothing.
#include "weft/drivers/store/store.hpp"

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

struct Tmpfs {
  std::filesystem::path dir;
  bool mounted = false;
  std::string why;
  Tmpfs(const std::filesystem::path& at, const char* options) : dir(at) {
    std::filesystem::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options) == 0) mounted = true;
    else why = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

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
  for (; round < 600 && rounds_after_loss < 40; ++round) {
    for (int i = 0; i < 1000; ++i) last = s.append(sample("p", std::string(200, 'x')));
    // Bounded: before, this waited for ever once the file system was full.
    REQUIRE(run_sync(ioc, s.flushed(), std::chrono::seconds(60)) == last);
    if (round == 10) run_sync(ioc, s.mark_delivered(1, 5000));
    if (s.counters().pruned_undelivered > 0) ++rounds_after_loss;
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
  // Room was made: the ballast is back for the next time.
  CHECK(std::filesystem::exists(ballast));
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
