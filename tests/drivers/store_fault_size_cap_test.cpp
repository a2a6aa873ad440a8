// Injected faults in the size cap's prune and the vacuum after it
// (store_fault_vfs.hpp). The size cap is enforced right after a commit, on
// the writer thread, before the next batch: 6,000 readings are committed
// (1..3000 delivered), then a batch of 2,000 takes the file past
// max_db_size, and the writer deletes the oldest delivered readings and
// gives the pages back (PRAGMA incremental_vacuum). An I/O error, a full
// disk or a short write at the first, a middle and the last I/O call of
// that prune and vacuum (counted in a dry run). Once: retried, the cap is
// met. For good: the store fails naming the file and the operation ("size
// cap failed" or "vacuum failed"), and once the fault clears the reopened
// store goes on committing: the batch that was committed before the prune
// is not committed a second time (its seqs are taken: every reopen would
// fail on them). No acknowledged reading is lost unrecorded, none
// undelivered is pruned, integrity_check is ok.
#include "weft/drivers/store/store.hpp"

#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Kind = FaultVfs::Kind;

// A cap between what 6,000 and 8,000 readings use (measured once, without
// faults): the setup stays under it, the operation's batch takes it over.
std::uint64_t cap_bytes() {
  static const std::uint64_t cap = [] {
    TempDir dir;
    auto o = options_for(dir.file("measure.db"));
    o.background_check = false;
    boost::asio::io_context ioc;
    store::Store s(o);
    Acked acked;
    open_and_commit(s, ioc, acked, 6000);
    const auto used = [&] {
      return static_cast<std::uint64_t>(sql_int(o.path, "PRAGMA page_count") - sql_int(o.path, "PRAGMA freelist_count")) *
             static_cast<std::uint64_t>(sql_int(o.path, "PRAGMA page_size"));
    };
    const std::uint64_t six = used();
    append_n(s, 2000, 6001);
    run_sync(ioc, s.flushed());
    const std::uint64_t eight = used();
    REQUIRE(eight > six);
    return six + (eight - six) / 2;
  }();
  return cap;
}

std::string cap_done_line() { return "size cap " + std::to_string(cap_bytes()) + " bytes: deleted"; }
bool cap_log_has(std::uint64_t after) { return store_log_since(after).find(cap_done_line()) != std::string::npos; }

// The fault (or, in the dry run, the trace) starts right after the COMMIT
// of the batch that takes the file past the cap: the commit observer runs
// on the writer thread between that COMMIT and the prune.
struct CapTrigger {
  std::atomic<bool> pending{false};
  std::optional<FaultVfs::Fault> fault;  // nullopt: the dry run (the trace is cleared)
};

store::StoreOptions cap_options(const FaultRig& rig, CapTrigger& trigger) {
  store::StoreOptions o = rig.o;
  o.max_db_size = cap_bytes();
  // Commits of exactly 2,000 (the setup's 6,000 are three): a batch taken
  // early by age would move the commit the fault starts after.
  o.batch_rows = 2000;
  o.batch_age = std::chrono::seconds(1);
  FaultVfs& vfs = rig.vfs;
  o.commit_observer = [&trigger, &vfs](std::size_t, Duration) {
    if (!trigger.pending.exchange(false)) return;
    if (trigger.fault) vfs.arm(*trigger.fault);
    else vfs.clear_trace();
  };
  return o;
}

// Under the cap: 6,000 readings (values 1..6000), 1..3000 delivered.
void cap_setup(store::Store& s, boost::asio::io_context& ioc, Acked& acked) {
  open_and_commit(s, ioc, acked, 6000, 3000);
  REQUIRE(s.counters().pruned_delivered == 0);
}

// The operation: 2,000 more (values 10001..12000), committed, then pruned for.
constexpr std::int64_t kCapValue = 10001;
std::vector<std::uint64_t> cap_commit(store::Store& s, CapTrigger& trigger) {
  trigger.pending = true;
  return append_n(s, 2000, kCapValue);
}

// Waits until the writer is done with the cap (its log line, after the
// vacuum; then no call for a while).
void cap_settle(FaultVfs& vfs, std::uint64_t log_mark) {
  REQUIRE(eventually([&] { return cap_log_has(log_mark); }));
  REQUIRE(wait_until_quiet(vfs));
}

std::size_t cap_dry_run(Kind kind) {
  FaultRig rig;
  CapTrigger trigger;
  const auto o = cap_options(rig, trigger);
  boost::asio::io_context ioc;
  store::Store s(o);
  Acked acked;
  cap_setup(s, ioc, acked);
  const std::uint64_t mark = logging::last_line_seq();
  const auto seqs = cap_commit(s, trigger);
  REQUIRE(run_sync(ioc, s.flushed()) >= seqs.back());
  cap_settle(rig.vfs, mark);
  CHECK(s.counters().pruned_delivered > 0);
  CHECK(s.counters().pruned_undelivered == 0);
  return matching(rig.vfs.trace(), ops_for(kind));
}

void cap_verify(const store::StoreOptions& o, const Acked& acked) {
  const FileContent c = read_content(o.path);
  INFO(unaccounted(acked, c));
  CHECK(unaccounted(acked, c).empty());
  for (std::uint64_t seq = 3001; seq <= acked.top(); ++seq) CHECK(c.values.count(seq) == 1);  // none undelivered pruned
  CHECK(integrity(o.path) == "ok");
  boost::asio::io_context ioc;
  store::StoreOptions plain = o;
  plain.commit_observer = nullptr;
  store::Store again(plain);
  run_sync(ioc, again.open());
  CHECK(again.append(sample("p", std::int64_t{-1})) > acked.top());
  CHECK(run_sync(ioc, again.flushed()) > acked.top());
}

void cap_fault_case(Kind kind, bool sticky) {
  const std::size_t calls = cap_dry_run(kind);
  REQUIRE(calls > 2);
  const auto points = fault_points(calls);
  for (const std::uint64_t nth : points) {
    FaultRig rig;
    CapTrigger trigger;
    trigger.fault = fault_of(kind, nth, sticky);
    store::StoreOptions o = cap_options(rig, trigger);
    if (sticky) o.error_deadline = std::chrono::milliseconds(300);
    INFO(to_string(kind) << (sticky ? " from" : " once at") << " call " << nth << " of " << calls
                         << " of the size cap's prune and vacuum");
    boost::asio::io_context ioc;
    Acked acked;
    {
      store::Store s(o);
      cap_setup(s, ioc, acked);
      const std::uint64_t mark = logging::last_line_seq();
      const auto seqs = cap_commit(s, trigger);
      if (!sticky) {
        CHECK(run_sync(ioc, s.flushed()) >= seqs.back());
        acknowledge(acked, seqs, kCapValue);
        cap_settle(rig.vfs, mark);
        CHECK(rig.vfs.failed() == 1);
        CHECK(s.health().state == store::StoreHealth::State::open);
        CHECK(s.counters().db_size_bytes <= o.max_db_size + o.max_db_size / 4);
      } else {
        const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(20));
        INFO(why);
        CHECK_THAT(why, Catch::Contains(o.path));
        CHECK_THAT(why, Catch::Contains("size cap failed") || Catch::Contains("vacuum failed"));
        if (nth == points.back()) CHECK_THAT(why, Catch::Contains("vacuum failed"));
        // The batch was committed (COMMIT returned) before the prune failed.
        for (std::size_t i = 0; i < seqs.size(); ++i) acked.value_of[seqs[i]] = kCapValue + static_cast<std::int64_t>(i);
        rig.vfs.disarm();
        run_sync(ioc, s.open());
        const auto more = append_n(s, 10, 20001);
        // Before the fix the committed batch was queued again and every
        // reopen failed on its seqs (UNIQUE constraint failed: readings.seq).
        CHECK(run_sync(ioc, s.flushed()) >= more.back());
        acknowledge(acked, more, 20001);
        CHECK(s.health().state == store::StoreHealth::State::open);
      }
      CHECK(s.counters().pruned_undelivered == 0);
    }
    cap_verify(o, acked);
  }
}

}  // namespace

TEST_CASE("store fault: an I/O error in the size cap's prune or vacuum, once retried, for good fails and reopens",
          "[store][fault]") {
  cap_fault_case(Kind::ioerr, false);
  cap_fault_case(Kind::ioerr, true);
}

TEST_CASE("store fault: a full disk in the size cap's prune or vacuum, once retried, for good fails and reopens",
          "[store][fault]") {
  cap_fault_case(Kind::full, false);
  cap_fault_case(Kind::full, true);
}

TEST_CASE("store fault: a short write in the size cap's prune or vacuum, once retried, for good fails and reopens",
          "[store][fault]") {
  cap_fault_case(Kind::short_write, false);
  cap_fault_case(Kind::short_write, true);
}
