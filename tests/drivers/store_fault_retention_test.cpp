// Injected faults in housekeeping's retention prune and the incremental
// vacuum after it (store_fault_vfs.hpp): 3,000 expired readings (1..1000
// delivered) and 500 recent ones; housekeeping deletes the expired ones,
// records the undelivered among them as lost ("pruned (retention)"), then
// gives the freed pages back (PRAGMA incremental_vacuum, the last I/O
// calls). An I/O error, a full disk or a short write at the first, a middle
// and the last I/O call of that (counted in a dry run). Once: retried, the
// prune and the vacuum complete. For good: the store fails naming the file
// and the operation ("retention failed", or "vacuum failed" at the last
// call), and the reopened store prunes what is left. Every expired reading
// is deleted or still there, none vanishes unrecorded, the recent ones all
// stay, integrity_check is ok (the sqlite3 CLI agrees), no seq is reused.
#include "weft/drivers/store/store.hpp"

#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Kind = FaultVfs::Kind;
constexpr int kExpired = 3000;
constexpr int kRecent = 500;

std::int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool log_has(std::uint64_t after, const std::string& needle) {
  return store_log_since(after).find(needle) != std::string::npos;
}

// Readings 1..3000 from 1970 (expired under a retention of an hour),
// 1..1000 of them delivered, and 3001..3500 from now; committed before
// the first housekeeping (`period` after the open). False if housekeeping
// ran before the setup had finished (a slow machine: try a longer period).
bool retention_setup(store::Store& s, boost::asio::io_context& ioc, Acked& acked, std::uint64_t log_mark) {
  run_sync(ioc, s.open());
  std::vector<std::uint64_t> seqs;
  for (int i = 1; i <= kExpired; ++i) seqs.push_back(s.append(sample("p", std::int64_t{i}, 1'000, 2'000)));
  const std::int64_t now = wall_now_ns();
  for (int i = kExpired + 1; i <= kExpired + kRecent; ++i)
    seqs.push_back(s.append(sample("p", std::int64_t{i}, 1'000, now)));
  REQUIRE(run_sync(ioc, s.flushed()) == seqs.back());
  acknowledge(acked, seqs, 1);
  run_sync(ioc, s.mark_delivered(1, 1000));
  return s.counters().pruned_delivered == 0 && !log_has(log_mark, "retention");
}

store::StoreOptions retention_options(FaultRig& rig, std::chrono::milliseconds period) {
  store::StoreOptions o = rig.o;
  o.retention = std::chrono::hours(1);
  o.housekeeping_period = period;
  return o;
}

// Housekeeping's retention pass has ended: its log line comes after the vacuum.
constexpr const char* kRetentionDone = "retention 3600 s: deleted";

struct RetentionDry {
  std::size_t calls;
  std::chrono::milliseconds period;
};

RetentionDry retention_dry_run(Kind kind) {
  for (std::chrono::milliseconds period(1000);; period *= 2) {
    REQUIRE(period <= std::chrono::milliseconds(16000));
    FaultRig rig;
    const store::StoreOptions o = retention_options(rig, period);
    boost::asio::io_context ioc;
    store::Store s(o);
    Acked acked;
    const std::uint64_t mark = logging::last_line_seq();
    if (!retention_setup(s, ioc, acked, mark)) continue;
    rig.vfs.clear_trace();
    REQUIRE(eventually([&] { return log_has(mark, kRetentionDone); }));
    REQUIRE(wait_until_quiet(rig.vfs));  // the size measure after the vacuum
    const auto trace = rig.vfs.trace();
    CHECK(s.counters().pruned_delivered == 1000);
    CHECK(s.counters().pruned_undelivered == 2000);
    return {matching(trace, ops_for(kind)), period};
  }
}

void retention_verify(const store::StoreOptions& o, const Acked& acked) {
  const FileContent c = read_content(o.path);
  INFO(unaccounted(acked, c));
  CHECK(unaccounted(acked, c).empty());
  for (int v = kExpired + 1; v <= kExpired + kRecent; ++v) CHECK(c.values.count(static_cast<std::uint64_t>(v)) == 1);
  for (const auto& g : c.lost)
    CHECK(g.why == "pruned (retention)");  // a full disk with room and no cap deletes nothing
  CHECK(integrity(o.path) == "ok");
  boost::asio::io_context ioc;
  store::Store again(o);
  run_sync(ioc, again.open());
  CHECK(again.append(sample("p", std::int64_t{-1}, 1'000, wall_now_ns())) > acked.top());
}

void retention_fault_case(Kind kind, bool sticky) {
  const RetentionDry dry = retention_dry_run(kind);
  REQUIRE(dry.calls > 2);
  const auto points = fault_points(dry.calls);
  for (const std::uint64_t nth : points) {
    std::chrono::milliseconds period = dry.period;
    for (int attempt = 0;; ++attempt, period *= 2) {
      REQUIRE(attempt < 4);
      FaultRig rig;
      store::StoreOptions o = retention_options(rig, period);
      if (sticky) o.error_deadline = std::chrono::milliseconds(300);
      INFO(to_string(kind) << (sticky ? " from" : " once at") << " call " << nth << " of " << dry.calls
                           << " of retention and vacuum");
      boost::asio::io_context ioc;
      Acked acked;
      {
        store::Store s(o);
        const std::uint64_t mark = logging::last_line_seq();
        if (!retention_setup(s, ioc, acked, mark)) continue;  // housekeeping came first: again, with a longer period
        rig.vfs.arm(fault_of(kind, nth, sticky));
        if (!sticky) {
          REQUIRE(eventually([&] { return log_has(mark, kRetentionDone); }));
          CHECK(rig.vfs.failed() == 1);
          const std::string log = store_log_since(mark);
          INFO(log);
          CHECK_THAT(log, Catch::Contains(o.path));
          CHECK(s.health().state == store::StoreHealth::State::open);
          CHECK(sql_int(o.path, "SELECT count(*) FROM readings WHERE seq <= 3000") == 0);
          CHECK(sql_int(o.path, "PRAGMA freelist_count") == 0);  // the vacuum ran
        } else {
          const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(20));
          INFO(why);
          CHECK_THAT(why, Catch::Contains(o.path));
          CHECK_THAT(why, Catch::Contains("retention failed") || Catch::Contains("vacuum failed"));
          if (nth == points.back()) CHECK_THAT(why, Catch::Contains("vacuum failed"));
          rig.vfs.disarm();
          run_sync(ioc, s.open());
          // The next housekeeping (a period after the reopen) prunes what is left.
          CHECK(eventually([&] { return sql_int(o.path, "SELECT count(*) FROM readings WHERE seq <= 3000") == 0; }));
        }
      }
      retention_verify(o, acked);
      if (nth == points.front()) {  // a second opinion, once per kind
        const auto cli = cli_integrity(o.path);
        if (cli) CHECK(*cli == "ok");
        else WARN("no sqlite3 CLI: integrity_check only from the linked SQLite");
      }
      break;
    }
  }
}

}  // namespace

TEST_CASE("store fault: an I/O error in retention or its vacuum, once retried, for good fails and the reopened store prunes",
          "[store][fault]") {
  retention_fault_case(Kind::ioerr, false);
  retention_fault_case(Kind::ioerr, true);
}

TEST_CASE("store fault: a full disk in retention or its vacuum, once retried, for good fails and the reopened store prunes",
          "[store][fault]") {
  retention_fault_case(Kind::full, false);
  retention_fault_case(Kind::full, true);
}

TEST_CASE("store fault: a short write in retention or its vacuum, once retried, for good fails and the reopened store prunes",
          "[store][fault]") {
  retention_fault_case(Kind::short_write, false);
  retention_fault_case(Kind::short_write, true);
}
