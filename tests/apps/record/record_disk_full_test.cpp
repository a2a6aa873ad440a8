// weftd restarted on a card that is full to the last block: the store's
// first open in this process fails with SQLITE_FULL (not even its -shm
// fits). Before, record failed at each attempt, the supervisor restarted
// it at once, and the sixth failure in 2.4 s escalated: weftd exited 3,
// and under systemd the box crash-looped for as long as the card stayed
// full (seen in tests/integration/store_disk_full_weftd.sh). Expected now:
// record becomes ready without its store, the open error says the file
// system is full (not "move it aside"), the open is retried every
// reopen_period, and once room is freed the readings that waited in the
// bus queue are recorded with their seqs, nothing missing. Needs root
// (a tmpfs mount): otherwise it prints "SKIPPED: why" and checks nothing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "../../drivers/store_support.hpp"
#include "../../drivers/tmpfs_mount.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/record/record_intake.hpp"
#include "weft/core/runtime.hpp"

using namespace std::chrono_literals;
using namespace weft;
using namespace weft::test;

namespace {

// Every block of the file system taken by `path` (written until ENOSPC).
void fill_to_the_last_block(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const std::string block(4096, 'f');
  for (std::size_t size = block.size(); size > 0;) {
    const ssize_t n = ::write(fd, block.data(), size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) size /= 2;  // ENOSPC: the last bytes in smaller writes
  }
  ::close(fd);
}

}  // namespace

TEST_CASE("record: weftd started on a card full to the last block is ready, retries, and records once room is freed",
          "[store][record][disk_full]") {
  TempDir dir;
  Tmpfs fs(dir.path / "card", "size=1m,mode=0700");
  if (!fs.mounted) {
    WARN("SKIPPED: cannot mount a 1 MiB tmpfs at " << fs.dir << " (" << fs.why
                                                    << "); this test needs root (CAP_SYS_ADMIN)");
    return;
  }
  const std::string db = (fs.dir / "readings.db").string();
  {  // an earlier run's store, closed cleanly (its WAL and -shm removed)
    auto o = options_for(db);
    o.ballast_bytes = 0;
    boost::asio::io_context ioc;
    store::Store s(o);
    run_sync(ioc, s.open());
    for (int i = 0; i < 100; ++i) s.append(sample("early", 1.0 * i));
    run_sync(ioc, s.flushed());
  }
  const std::filesystem::path filler = fs.dir / "filler";
  fill_to_the_last_block(filler);

  apps::RecordIntake intake;
  apps::RunMode mode;
  mode.record_intake = &intake;
  const std::string toml = "[store]\npath = \"" + db +
                           "\"\nbatch_age = \"10ms\"\n"
                           "[service.heartbeat]\nperiod = \"10ms\"\nprefix = \"box\"\n"
                           "[service.record]\nreport_period = \"100ms\"\nreopen_period = \"100ms\"\n";
  int exit_code = -1;
  {
    auto assembly = apps::assemble(Config::parse(toml, "box.toml"), mode);
    assembly.options.handle_signals = false;
    Runtime runtime(assembly.options);
    apps::add_services(runtime, assembly);
    // The card stays full past the point where the old restarts escalated
    // (the sixth failure, 2.4 s in), then the filler goes.
    std::thread freer([&] {
      std::this_thread::sleep_for(3500ms);
      std::filesystem::remove(filler);
    });
    runtime.stop_after(6s);
    const apps::RecordIntakeRelease release(intake);
    exit_code = runtime.run();
    freer.join();
  }
  CHECK(exit_code == kExitOk);  // before: kExitEscalated (3)
  CHECK(intake.dropped() == 0);
  // What waited in the bus queue while the card was full is in the file,
  // after the earlier run's 100, every seq a reading or a recorded gap.
  const std::int64_t top = sql_int(db, "SELECT max(seq) FROM readings");
  const std::int64_t stored = sql_int(db, "SELECT count(*) FROM readings");
  const std::int64_t lost = sql_int(db, "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM lost");
  INFO(stored << " stored, " << lost << " lost, newest seq " << top);
  CHECK(stored > 100 + 5 * 300);  // 5 heartbeat points every 10 ms: 3.5 s of them waited
  CHECK(stored + lost >= top);
  CHECK(sql_int(db, "SELECT count(*) FROM readings r JOIN points p ON p.id = r.point WHERE p.name = 'early'") == 100);
  CHECK(sql_int(db, "SELECT min(seq) FROM readings r JOIN points p ON p.id = r.point WHERE p.name <> 'early'") > 100);
}
