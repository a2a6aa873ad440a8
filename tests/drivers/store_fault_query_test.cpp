// Injected faults in the reader's queries (store_fault_vfs.hpp): upload's
// undelivered() and newest_undelivered(), and the console's `sql` path
// (Store::query), on the read-only connection. A query writes nothing (the
// dry run says so: a full disk or a short write has no call to hit), so the
// fault is an I/O error at the first, a middle and the last read of the
// query, once or for good. The query fails with an error naming the file
// and the statement (QueryError "sql: ..." for the console), the store
// stays open and keeps committing (a read error is not damage: nothing is
// moved aside), and the next query after the fault answers in full.
#include "weft/drivers/store/store.hpp"

#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Kind = FaultVfs::Kind;

// 3,000 readings (values 1..3000; enough pages that the query reads
// several), 1..500 delivered; then closed and reopened, so the reader's
// connection starts with a cold cache and the query reads from the file.
void query_fault_setup(const store::StoreOptions& o, Acked& acked) {
  boost::asio::io_context ioc;
  store::Store s(o);
  open_and_commit(s, ioc, acked, 3000, 500);
}

enum class Query { undelivered, newest_undelivered, console_sql };
const char* query_name(Query q) {
  switch (q) {
    case Query::undelivered: return "undelivered()";
    case Query::newest_undelivered: return "newest_undelivered()";
    case Query::console_sql: return "the console's sql";
  }
  return "?";
}

// Runs the query; returns how many rows it answered (throws what it throws).
std::size_t query_run(Query q, store::Store& s, boost::asio::io_context& ioc) {
  switch (q) {
    case Query::undelivered: return run_sync(ioc, s.undelivered(0, 5000)).size();
    case Query::newest_undelivered: return run_sync(ioc, s.newest_undelivered(5000)).size();
    case Query::console_sql: {
      store::QueryLimits limits;
      limits.max_rows = 5000;
      return run_sync(ioc, s.query("SELECT seq, value FROM readings WHERE seq > 500", limits)).rows.size();
    }
  }
  return 0;
}

void query_fault_case(Query q, bool sticky) {
  constexpr std::size_t kRows = 2500;  // 501..3000
  std::size_t calls = 0;
  {
    FaultRig rig;
    Acked acked;
    query_fault_setup(rig.o, acked);
    boost::asio::io_context ioc;
    store::Store s(rig.o);
    run_sync(ioc, s.open());
    std::size_t rows = 0;
    const auto trace = rig.dry_run([&] { rows = query_run(q, s, ioc); });
    REQUIRE(rows == kRows);
    CHECK(matching(trace, FaultVfs::kWrite) == 0);  // nothing for a full disk or a short write to hit
    calls = matching(trace, ops_for(Kind::ioerr));
  }
  REQUIRE(calls > 2);
  for (const std::uint64_t nth : fault_points(calls)) {
    FaultRig rig;
    Acked acked;
    query_fault_setup(rig.o, acked);
    INFO("ioerr" << (sticky ? " from" : " once at") << " call " << nth << " of " << calls << " of "
                 << query_name(q));
    boost::asio::io_context ioc;
    {
      store::Store s(rig.o);
      run_sync(ioc, s.open());
      rig.vfs.arm(fault_of(Kind::ioerr, nth, sticky));
      std::string error;
      try {
        query_run(q, s, ioc);
      } catch (const std::exception& e) {
        error = e.what();
        if (q == Query::console_sql) CHECK(dynamic_cast<const store::QueryError*>(&e) != nullptr);
      }
      rig.vfs.disarm();
      CHECK(rig.vfs.failed() >= 1);
      INFO(error);
      REQUIRE_FALSE(error.empty());
      if (q == Query::console_sql) {
        CHECK_THAT(error, Catch::StartsWith("sql: ") && Catch::Contains("SELECT seq, value FROM readings"));
      } else {
        CHECK_THAT(error, Catch::Contains(rig.o.path) && Catch::Contains("SELECT"));
      }
      // Not damage: the store stays open, commits, and answers again.
      CHECK(s.health().state == store::StoreHealth::State::open);
      CHECK(s.health().incidents.empty());
      const auto seqs = append_n(s, 5, 5000);
      CHECK(run_sync(ioc, s.flushed()) >= seqs.back());
      acknowledge(acked, seqs, 5000);
      CHECK(query_run(q, s, ioc) == kRows + 5);
    }
    CHECK(unaccounted(acked, read_content(rig.o.path)).empty());
    CHECK(integrity(rig.o.path) == "ok");
    CHECK(std::filesystem::exists(rig.o.path));  // not moved aside
  }
}

}  // namespace

TEST_CASE("store fault: an I/O error in undelivered() fails that query only and the next one answers in full",
          "[store][fault]") {
  query_fault_case(Query::undelivered, false);
  query_fault_case(Query::undelivered, true);
}

TEST_CASE("store fault: an I/O error in newest_undelivered() fails that query only", "[store][fault]") {
  query_fault_case(Query::newest_undelivered, false);
  query_fault_case(Query::newest_undelivered, true);
}

TEST_CASE("store fault: an I/O error in the console's sql query is a QueryError naming the statement",
          "[store][fault]") {
  query_fault_case(Query::console_sql, false);
  query_fault_case(Query::console_sql, true);
}
