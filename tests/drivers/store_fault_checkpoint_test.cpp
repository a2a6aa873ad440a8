// Injected faults in the store's checkpoints (store_fault_vfs.hpp): the
// final PRAGMA wal_checkpoint(TRUNCATE) of a clean close (and the WAL
// fsync it falls back on), and SQLite's automatic checkpoint at the end of
// a commit (the only calls a commit makes on the database file itself in
// WAL mode). An I/O error, a full disk or a short write at the first, a
// middle and the last I/O call of it (counted in a dry run).
// The close: once or for good, it returns (bounded), and the next open
// finds every committed reading and delivered mark and goes on above
// every seq (when nothing could be made durable, the seq mark stays up:
// the unused seqs become a gap, never reused).
// The automatic checkpoint: its failure is SQLite's to retry (the COMMIT
// before it succeeded), so the commit is acknowledged and nothing is lost.
// integrity_check is ok after each.
#include "weft/drivers/store/store.hpp"

#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Kind = FaultVfs::Kind;
using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// 300 readings committed (values 1..300), 1..100 delivered.
void checkpoint_setup(store::Store& s, boost::asio::io_context& ioc, Acked& acked) {
  open_and_commit(s, ioc, acked, 300, 100);
}

void checkpoint_verify(const store::StoreOptions& o, const Acked& acked, std::uint64_t delivered_top) {
  const FileContent c = read_content(o.path);
  INFO(unaccounted(acked, c));
  CHECK(unaccounted(acked, c).empty());
  CHECK(c.values.size() == acked.value_of.size());  // nothing pruned
  CHECK(integrity(o.path) == "ok");
  boost::asio::io_context ioc;
  store::Store again(o);
  run_sync(ioc, again.open());
  CHECK(again.append(sample("p", std::int64_t{-1})) > acked.top());
  CHECK(run_sync(ioc, again.delivered_ranges()) == Ranges{{1, delivered_top}});
  for (const auto& g : run_sync(ioc, again.gaps())) CHECK(g.first_seq > acked.top());  // only unused seqs
}

void close_checkpoint_case(Kind kind, bool sticky) {
  std::size_t calls = 0;
  {
    FaultRig rig;
    boost::asio::io_context ioc;
    Acked acked;
    auto s = std::make_unique<store::Store>(rig.o);
    checkpoint_setup(*s, ioc, acked);
    const auto trace = rig.dry_run([&] { s.reset(); });
    calls = matching(trace, ops_for(kind));
  }
  REQUIRE(calls > 0);
  for (const std::uint64_t nth : fault_points(calls)) {
    FaultRig rig;
    INFO(to_string(kind) << (sticky ? " from" : " once at") << " call " << nth << " of " << calls
                         << " of the close's checkpoint");
    boost::asio::io_context ioc;
    Acked acked;
    {
      auto s = std::make_unique<store::Store>(rig.o);
      checkpoint_setup(*s, ioc, acked);
      rig.vfs.arm(fault_of(kind, nth, sticky));
      const auto t0 = std::chrono::steady_clock::now();
      s.reset();
      CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));  // bounded (3 s budget)
      CHECK(rig.vfs.failed() >= 1);
      rig.vfs.disarm();
    }
    checkpoint_verify(rig.o, acked, 100);
  }
}

// A store whose WAL checkpoints every 64 pages (the size cap's setting):
// the batch of 10,000 readings after the setup passes that. The dry run
// and every armed run must make the same I/O calls, so the batch must be
// committed whole, at its 10,000th reading: batch_age is 2 s (the setup's
// 300 readings wait that long for their commit), where the default 200 ms
// let a slow run (ASan on a loaded machine) commit part of the batch early,
// and the fault counted on the dry run never came. The residue: appending
// 10,000 readings must take under 2 s (the ASan run that failed took over
// 200 ms; the test now waits 2 s for each of its 12 setups).
constexpr int kCheckpointBatch = 10'000;
store::StoreOptions autocheckpoint_options(const FaultRig& rig) {
  store::StoreOptions o = rig.o;
  o.max_db_size = 512 * 1024;  // hard cap 640 KiB: wal_autocheckpoint = 64 pages; the readings stay below the cap
  o.batch_rows = kCheckpointBatch;
  o.batch_age = std::chrono::seconds(2);
  o.queue_capacity = 2 * kCheckpointBatch;
  return o;
}

void autocheckpoint_case(Kind kind) {
  const std::string db = "readings.db";
  std::size_t calls = 0;
  {
    FaultRig rig;
    const auto o = autocheckpoint_options(rig);
    boost::asio::io_context ioc;
    Acked acked;
    store::Store s(o);
    checkpoint_setup(s, ioc, acked);
    const auto trace = rig.dry_run([&] {
      append_n(s, kCheckpointBatch, 1001);
      run_sync(ioc, s.flushed());
    });
    calls = matching(trace, ops_for(kind), db);
    CHECK(matching(trace, FaultVfs::kWrite, db) > 0);  // the checkpoint did run inside the commit
  }
  REQUIRE(calls > 0);
  for (const std::uint64_t nth : fault_points(calls)) {
    FaultRig rig;
    const auto o = autocheckpoint_options(rig);
    INFO(to_string(kind) << " once at call " << nth << " of " << calls << " on " << db
                         << " during a commit (its automatic checkpoint)");
    boost::asio::io_context ioc;
    Acked acked;
    {
      store::Store s(o);
      checkpoint_setup(s, ioc, acked);
      rig.vfs.arm(fault_of(kind, nth, false, db));
      const auto seqs = append_n(s, kCheckpointBatch, 1001);
      CHECK(run_sync(ioc, s.flushed()) >= seqs.back());
      acknowledge(acked, seqs, 1001);
      CHECK(rig.vfs.failed() == 1);
      CHECK(s.health().state == store::StoreHealth::State::open);
      CHECK(s.counters().pruned_undelivered == 0);
    }
    checkpoint_verify(o, acked, 100);
  }
}

}  // namespace

TEST_CASE("store fault: an I/O error in the close's checkpoint loses nothing and reuses no seq", "[store][fault]") {
  close_checkpoint_case(Kind::ioerr, false);
  close_checkpoint_case(Kind::ioerr, true);
}

TEST_CASE("store fault: a full disk or a short write in the close's checkpoint loses nothing", "[store][fault]") {
  close_checkpoint_case(Kind::full, false);
  close_checkpoint_case(Kind::full, true);
  close_checkpoint_case(Kind::short_write, false);
  close_checkpoint_case(Kind::short_write, true);
}

TEST_CASE("store fault: a fault in the automatic checkpoint after a commit loses nothing", "[store][fault]") {
  autocheckpoint_case(Kind::ioerr);
  autocheckpoint_case(Kind::full);
  autocheckpoint_case(Kind::short_write);
}
