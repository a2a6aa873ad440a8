// Injected faults in the store's open (store_fault_vfs.hpp): the writer's
// connection, its pragmas (WAL), the migrations and finish_open's reads
// (and its write of a gap), then the reader's connection. Three files: a
// new one (created and migrated by this open), one a clean close left with
// 40 readings, and the same after an unclean stop (its seq mark reserved
// up to 1999: the open records 41..1999 as unused seqs, a write).
// An I/O error, a full disk or a short write at the first, a middle and the
// last I/O call of the open (counted in a dry run), once or for good: the
// open fails with a StoreError that names the file and what failed (or the
// store absorbed the fault and opened), an open once the fault has cleared
// succeeds, the file is intact, its readings are all there, the schema is
// whole, and the seqs go on above every one ever committed.
#include "weft/drivers/store/store.hpp"

#include "../../drivers/src/store/seq_mark.hpp"
#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Kind = FaultVfs::Kind;
enum class OpenFile { fresh, clean, unclean };

const char* open_file_name(OpenFile f) {
  switch (f) {
    case OpenFile::fresh: return "a new file";
    case OpenFile::clean: return "a file a clean close left";
    case OpenFile::unclean: return "a file an unclean stop left";
  }
  return "?";
}

// 40 readings (values 1..40) closed cleanly, and for an unclean stop the
// seq mark the reservation of a process that died leaves.
void open_fault_setup(const store::StoreOptions& o, OpenFile file, Acked& acked) {
  if (file == OpenFile::fresh) return;
  {
    boost::asio::io_context ioc;
    store::Store s(o);
    open_and_commit(s, ioc, acked, 40);
  }
  if (file == OpenFile::unclean) store::write_seq_mark(o.path, store::SeqMark{2000, 0});
}

std::size_t open_dry_run(Kind kind, OpenFile file) {
  FaultRig rig;
  Acked acked;
  open_fault_setup(rig.o, file, acked);
  boost::asio::io_context ioc;
  store::Store s(rig.o);
  const auto trace = rig.dry_run([&] { run_sync(ioc, s.open()); });
  return matching(trace, ops_for(kind));
}

// The open under a fault: fails naming the file, or absorbs the fault.
// Either way an open after the fault cleared works and the file is whole.
void open_fault_case(Kind kind, OpenFile file, bool sticky) {
  const std::size_t calls = open_dry_run(kind, file);
  if (calls == 0 && kind != Kind::ioerr) {
    // A file a clean close left is current: its open writes nothing, so a
    // full disk or a short write has no call to hit. A new file's open must.
    CHECK(file == OpenFile::clean);
    return;
  }
  REQUIRE(calls > 0);
  for (const std::uint64_t nth : fault_points(calls)) {
    FaultRig rig;
    if (sticky) rig.o.error_deadline = std::chrono::milliseconds(300);  // the gap write gives up sooner
    Acked acked;
    open_fault_setup(rig.o, file, acked);
    INFO(to_string(kind) << (sticky ? " from" : " once at") << " call " << nth << " of " << calls << " of the open of "
                         << open_file_name(file));
    boost::asio::io_context ioc;
    {
      store::Store s(rig.o);
      rig.vfs.arm(fault_of(kind, nth, sticky));
      std::string error;
      try {
        run_sync(ioc, s.open());
      } catch (const store::StoreError& e) {
        error = e.what();
      }
      CHECK(rig.vfs.failed() >= 1);
      INFO("open: " << (error.empty() ? std::string("absorbed the fault") : error));
      if (sticky) CHECK_FALSE(error.empty());  // a fault that persists cannot be absorbed
      if (!error.empty()) {
        CHECK_THAT(error, Catch::Contains(rig.o.path));
        CHECK(error.size() > rig.o.path.size() + 20);  // says what failed, not just where
      }
      rig.vfs.disarm();
      run_sync(ioc, s.open());  // the fault has cleared: record's next try
      CHECK(s.is_open());
      // Nothing deleted: room on the disk and no size cap (before, one
      // SQLITE_FULL in the open's gap write deleted all 40 readings).
      const auto c = s.counters();
      CHECK(c.pruned_delivered + c.pruned_undelivered == 0);
      CHECK(run_sync(ioc, s.undelivered(0, 1000)).size() == acked.value_of.size());
      const auto seqs = append_n(s, 10, 100);
      CHECK(seqs.front() > (file == OpenFile::unclean ? 1999 : acked.top()));
      CHECK(run_sync(ioc, s.flushed()) >= seqs.back());
      acknowledge(acked, seqs, 100);
    }
    const FileContent c = read_content(rig.o.path);
    INFO(unaccounted(acked, c));
    CHECK(unaccounted(acked, c).empty());
    CHECK(integrity(rig.o.path) == "ok");
    CHECK(sql_int(rig.o.path, "SELECT version FROM schema_version") == 1);
    CHECK(sql_int(rig.o.path, "SELECT count(*) FROM sqlite_master WHERE name = 'put_log'") == 1);
    if (file == OpenFile::unclean)
      CHECK(sql_int(rig.o.path, "SELECT count(*) FROM lost WHERE first_seq = 41 AND last_seq = 1999") == 1);
  }
}

}  // namespace

TEST_CASE("store fault: an I/O error in the open of a new file (migrations) fails it, and the next open works",
          "[store][fault]") {
  open_fault_case(Kind::ioerr, OpenFile::fresh, false);
  open_fault_case(Kind::ioerr, OpenFile::fresh, true);
}

TEST_CASE("store fault: a full disk or a short write in the open of a new file fails it, and the next open works",
          "[store][fault]") {
  for (const Kind kind : {Kind::full, Kind::short_write}) {
    open_fault_case(kind, OpenFile::fresh, false);
    open_fault_case(kind, OpenFile::fresh, true);
  }
}

TEST_CASE("store fault: an I/O error in the open of a file with readings fails it, and nothing is lost",
          "[store][fault]") {
  for (const OpenFile file : {OpenFile::clean, OpenFile::unclean}) {
    open_fault_case(Kind::ioerr, file, false);
    open_fault_case(Kind::ioerr, file, true);
  }
}

TEST_CASE("store fault: a full disk or a short write in the open of a file with readings loses nothing",
          "[store][fault]") {
  for (const OpenFile file : {OpenFile::clean, OpenFile::unclean})
    for (const Kind kind : {Kind::full, Kind::short_write}) {
      open_fault_case(kind, file, false);
      open_fault_case(kind, file, true);
    }
}
