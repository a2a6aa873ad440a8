// Injected faults in the commit of a batch (store_fault_vfs.hpp): an I/O
// error, a full disk or a short write at the first, a middle and the last
// I/O call of the commit (counted in a dry run), under both `synchronous`
// settings. Once: the writer retries after its 1 s pause (a full disk with
// room on the file system and no size cap deletes nothing), every reading
// is committed, the log names the file and "commit". For good (the call and
// every later one): past error_deadline the store fails with a message
// naming the file and "commit failed", the readings wait in memory, and
// once the fault clears the reopened store commits them; either way no
// acknowledged reading is lost, no seq is given twice, integrity_check is ok.
#include "weft/drivers/store/store.hpp"

#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Kind = FaultVfs::Kind;
using Sync = store::StoreOptions::Synchronous;

// The state before the fault: 40 readings of "p" (values 1..40) committed,
// 1..20 delivered.
void commit_fault_setup(store::Store& s, boost::asio::io_context& ioc, Acked& acked) {
  open_and_commit(s, ioc, acked, 40, 20);
}

// The operation under test: 50 readings of a new point "q" (the points
// table is written too), values 1001..1050, then flushed().
constexpr int kBatch = 50;
constexpr std::int64_t kBatchValue = 1001;

std::size_t commit_dry_run(Kind kind, Sync sync) {
  FaultRig rig;
  rig.o.synchronous = sync;
  boost::asio::io_context ioc;
  store::Store s(rig.o);
  Acked acked;
  commit_fault_setup(s, ioc, acked);
  const auto trace = rig.dry_run([&] {
    append_n(s, kBatch, kBatchValue, "q");
    run_sync(ioc, s.flushed());
  });
  return matching(trace, ops_for(kind));
}

// After the case: the file holds every acknowledged reading (or records it
// lost), its integrity is ok, and a new store on it goes on above every seq.
void commit_fault_verify(const store::StoreOptions& o, const Acked& acked) {
  const FileContent c = read_content(o.path);
  INFO(unaccounted(acked, c));
  CHECK(unaccounted(acked, c).empty());
  for (std::int64_t v = kBatchValue; v < kBatchValue + kBatch; ++v) {
    const bool present = std::any_of(c.values.begin(), c.values.end(), [v](const auto& kv) { return kv.second == v; });
    CHECK(present);
  }
  CHECK(integrity(o.path) == "ok");
  boost::asio::io_context ioc;
  store::Store again(o);
  run_sync(ioc, again.open());
  // As upload reads them (joined with their point names): a point interned
  // by a transaction that rolled back must not be referenced by the retry.
  std::size_t q = 0;
  for (const auto& r : run_sync(ioc, again.undelivered(0, 1000)))
    if (r.reading.point == "q") ++q;
  CHECK(q == static_cast<std::size_t>(kBatch));
  CHECK(again.append(sample("p", std::int64_t{-1})) > acked.top());
}

void commit_fault_once(Kind kind, Sync sync) {
  const std::size_t calls = commit_dry_run(kind, sync);
  REQUIRE(calls > 0);
  for (const std::uint64_t nth : fault_points(calls)) {
    FaultRig rig;
    rig.o.synchronous = sync;
    boost::asio::io_context ioc;
    Acked acked;
    {
      store::Store s(rig.o);
      commit_fault_setup(s, ioc, acked);
      INFO(to_string(kind) << " once at call " << nth << " of " << calls << ", synchronous " << to_string(sync));
      const std::uint64_t mark = logging::last_line_seq();
      rig.vfs.arm(fault_of(kind, nth, false));
      const auto seqs = append_n(s, kBatch, kBatchValue, "q");
      CHECK(run_sync(ioc, s.flushed()) >= seqs.back());  // retried: committed
      acknowledge(acked, seqs, kBatchValue);
      CHECK(rig.vfs.failed() == 1);
      const std::string log = store_log_since(mark);
      INFO(log);
      CHECK_THAT(log, Catch::Contains(rig.o.path) && Catch::Contains("commit"));
      CHECK(s.health().state == store::StoreHealth::State::open);
      // Room on the disk, no size cap: a full disk deletes nothing (before,
      // one SQLITE_FULL here deleted up to 256 readings, delivered first).
      CHECK(s.counters().pruned_delivered + s.counters().pruned_undelivered == 0);
    }
    commit_fault_verify(rig.o, acked);
  }
}

void commit_fault_sticky(Kind kind, Sync sync) {
  const std::size_t calls = commit_dry_run(kind, sync);
  REQUIRE(calls > 0);
  for (const std::uint64_t nth : fault_points(calls)) {
    FaultRig rig;
    rig.o.synchronous = sync;
    rig.o.error_deadline = std::chrono::milliseconds(300);
    boost::asio::io_context ioc;
    Acked acked;
    {
      store::Store s(rig.o);
      commit_fault_setup(s, ioc, acked);
      INFO(to_string(kind) << " from call " << nth << " of " << calls << " on, synchronous " << to_string(sync));
      rig.vfs.arm(fault_of(kind, nth, true));
      const auto seqs = append_n(s, kBatch, kBatchValue, "q");
      CHECK_THROWS_AS(run_sync(ioc, s.flushed()), store::StoreError);
      const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(5));
      CHECK_THAT(why, Catch::Contains(rig.o.path) && Catch::Contains("commit failed"));
      CHECK(s.health().state == store::StoreHealth::State::failed);
      CHECK(s.counters().queue_depth == static_cast<std::size_t>(kBatch));  // waiting in memory
      rig.vfs.disarm();
      run_sync(ioc, s.open());
      CHECK(run_sync(ioc, s.flushed()) >= seqs.back());  // what waited is committed now
      acknowledge(acked, seqs, kBatchValue);
      CHECK(s.counters().pruned_undelivered == 0);
    }
    commit_fault_verify(rig.o, acked);
  }
}

}  // namespace

TEST_CASE("store fault: an I/O error once in a commit is retried and nothing is lost", "[store][fault]") {
  commit_fault_once(Kind::ioerr, Sync::normal);
  commit_fault_once(Kind::ioerr, Sync::full);
}

TEST_CASE("store fault: a full disk once in a commit is retried and nothing is deleted", "[store][fault]") {
  commit_fault_once(Kind::full, Sync::normal);
  commit_fault_once(Kind::full, Sync::full);
}

TEST_CASE("store fault: a short write once in a commit is retried and nothing is lost", "[store][fault]") {
  commit_fault_once(Kind::short_write, Sync::normal);
  commit_fault_once(Kind::short_write, Sync::full);
}

TEST_CASE("store fault: an I/O error for good in a commit fails the store and the reopened store commits what waited",
          "[store][fault]") {
  commit_fault_sticky(Kind::ioerr, Sync::normal);
  commit_fault_sticky(Kind::ioerr, Sync::full);
}

TEST_CASE("store fault: a full disk for good in a commit fails the store and the reopened store commits what waited",
          "[store][fault]") {
  commit_fault_sticky(Kind::full, Sync::normal);
  commit_fault_sticky(Kind::full, Sync::full);
}

TEST_CASE("store fault: short writes for good in a commit fail the store and the reopened store commits what waited",
          "[store][fault]") {
  commit_fault_sticky(Kind::short_write, Sync::normal);
  commit_fault_sticky(Kind::short_write, Sync::full);
}
