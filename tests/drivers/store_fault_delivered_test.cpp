// Injected faults in mark_delivered (store_fault_vfs.hpp): the writer's
// transaction that records a delivered range. An I/O error, a full disk or
// a short write at the first, a middle and the last I/O call of it (counted
// in a dry run). Once: retried, the range is recorded. For good: past
// error_deadline mark_delivered throws, failure() names the file and "mark
// delivered", and once the fault clears the reopened store records the
// range when upload marks it again (marking is idempotent); the readings
// are all there, integrity_check is ok, no seq is given twice.
#include "weft/drivers/store/store.hpp"

#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Kind = FaultVfs::Kind;
using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// 100 readings committed, 1..10 delivered; the operation marks 11..60.
void delivered_fault_setup(store::Store& s, boost::asio::io_context& ioc, Acked& acked) {
  open_and_commit(s, ioc, acked, 100, 10);
}

std::size_t delivered_dry_run(Kind kind) {
  FaultRig rig;
  boost::asio::io_context ioc;
  store::Store s(rig.o);
  Acked acked;
  delivered_fault_setup(s, ioc, acked);
  const auto trace = rig.dry_run([&] { run_sync(ioc, s.mark_delivered(11, 60)); });
  return matching(trace, ops_for(kind));
}

void delivered_fault_verify(const store::StoreOptions& o, const Acked& acked) {
  const FileContent c = read_content(o.path);
  CHECK(c.values.size() == acked.value_of.size());  // nothing deleted
  CHECK(unaccounted(acked, c).empty());
  CHECK(integrity(o.path) == "ok");
  CHECK(sql_text(o.path, "SELECT group_concat(first_seq || '..' || last_seq) FROM delivered") == "1..60");
  boost::asio::io_context ioc;
  store::Store again(o);
  run_sync(ioc, again.open());
  CHECK(again.append(sample("p", std::int64_t{-1})) > acked.top());
  CHECK(run_sync(ioc, again.undelivered(0, 1000)).size() == 40);  // 61..100
}

void delivered_fault_case(Kind kind, bool sticky) {
  const std::size_t calls = delivered_dry_run(kind);
  REQUIRE(calls > 0);
  for (const std::uint64_t nth : fault_points(calls)) {
    FaultRig rig;
    if (sticky) rig.o.error_deadline = std::chrono::milliseconds(300);
    boost::asio::io_context ioc;
    Acked acked;
    {
      store::Store s(rig.o);
      delivered_fault_setup(s, ioc, acked);
      INFO(to_string(kind) << (sticky ? " from" : " once at") << " call " << nth << " of " << calls
                           << " of mark_delivered");
      const std::uint64_t mark = logging::last_line_seq();
      rig.vfs.arm(fault_of(kind, nth, sticky));
      if (!sticky) {
        run_sync(ioc, s.mark_delivered(11, 60));
        CHECK(rig.vfs.failed() == 1);
        const std::string log = store_log_since(mark);
        INFO(log);
        CHECK_THAT(log, Catch::Contains(rig.o.path) && Catch::Contains("mark delivered"));
        CHECK(run_sync(ioc, s.delivered_ranges()) == Ranges{{1, 60}});
      } else {
        CHECK_THROWS_AS(run_sync(ioc, s.mark_delivered(11, 60)), store::StoreError);
        const std::string why = run_sync(ioc, s.failure(), std::chrono::seconds(5));
        CHECK_THAT(why, Catch::Contains(rig.o.path) && Catch::Contains("mark delivered failed"));
        rig.vfs.disarm();
        run_sync(ioc, s.open());
        run_sync(ioc, s.mark_delivered(11, 60));  // upload marks the batch again
        CHECK(run_sync(ioc, s.delivered_ranges()) == Ranges{{1, 60}});
      }
      // Room on the disk, no size cap: a full disk deletes nothing (before,
      // one SQLITE_FULL here deleted the 10 delivered readings).
      CHECK(s.counters().pruned_delivered + s.counters().pruned_undelivered == 0);
    }
    delivered_fault_verify(rig.o, acked);
  }
}

}  // namespace

TEST_CASE("store fault: an I/O error in mark_delivered, once retried, for good fails and marks after reopen",
          "[store][fault]") {
  delivered_fault_case(Kind::ioerr, false);
  delivered_fault_case(Kind::ioerr, true);
}

TEST_CASE("store fault: a full disk in mark_delivered, once retried, for good fails and marks after reopen",
          "[store][fault]") {
  delivered_fault_case(Kind::full, false);
  delivered_fault_case(Kind::full, true);
}

TEST_CASE("store fault: a short write in mark_delivered, once retried, for good fails and marks after reopen",
          "[store][fault]") {
  delivered_fault_case(Kind::short_write, false);
  delivered_fault_case(Kind::short_write, true);
}
