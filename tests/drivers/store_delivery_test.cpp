// The delivery ledger: delivered ranges are merged and durable; the upload
// queries skip them (oldest first, or newest first for "live first");
// marking what was never committed is refused.
#include "weft/drivers/store/store.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

std::vector<std::uint64_t> seqs(const std::vector<store::StoredReading>& rows) {
  std::vector<std::uint64_t> out;
  for (const auto& r : rows) out.push_back(r.seq);
  return out;
}

using SeqRanges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

}  // namespace

TEST_CASE("store: delivered ranges merge and skip in the upload queries", "[store]") {
  TempDir dir;
  const std::string path = dir.file("d.db");
  boost::asio::io_context ioc;
  {
    store::Store s(options_for(path));
    run_sync(ioc, s.open());
    for (int i = 1; i <= 20; ++i) s.append(sample("p", static_cast<std::int64_t>(i)));
    REQUIRE(run_sync(ioc, s.flushed()) == 20);

    run_sync(ioc, s.mark_delivered(3, 5));
    run_sync(ioc, s.mark_delivered(10, 12));
    run_sync(ioc, s.mark_delivered(6, 7));  // touches 3..5: merged
    CHECK(run_sync(ioc, s.delivered_ranges()) == SeqRanges{{3, 7}, {10, 12}});
    run_sync(ioc, s.mark_delivered(8, 9));  // joins both
    CHECK(run_sync(ioc, s.delivered_ranges()) == SeqRanges{{3, 12}});
    run_sync(ioc, s.mark_delivered(5, 6));  // inside: idempotent
    run_sync(ioc, s.mark_delivered(18, 18));
    CHECK(run_sync(ioc, s.delivered_ranges()) == SeqRanges{{3, 12}, {18, 18}});

    CHECK(seqs(run_sync(ioc, s.undelivered(0, 100))) == std::vector<std::uint64_t>{1, 2, 13, 14, 15, 16, 17, 19, 20});
    CHECK(seqs(run_sync(ioc, s.undelivered(0, 3))) == std::vector<std::uint64_t>{1, 2, 13});
    CHECK(seqs(run_sync(ioc, s.undelivered(13, 3))) == std::vector<std::uint64_t>{14, 15, 16});
    CHECK(seqs(run_sync(ioc, s.undelivered(17, 100))) == std::vector<std::uint64_t>{19, 20});
    CHECK(seqs(run_sync(ioc, s.newest_undelivered(4))) == std::vector<std::uint64_t>{16, 17, 19, 20});
    CHECK(seqs(run_sync(ioc, s.newest_undelivered(100))) ==
          std::vector<std::uint64_t>{1, 2, 13, 14, 15, 16, 17, 19, 20});
  }
  // Durable: another process sees the ledger, and so does the next open.
  CHECK(sql_int(path, "SELECT count(*) FROM delivered") == 2);
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  CHECK(run_sync(ioc, s.delivered_ranges()) == SeqRanges{{3, 12}, {18, 18}});
  run_sync(ioc, s.mark_delivered(1, 20));
  CHECK(run_sync(ioc, s.undelivered(0, 100)).empty());
  CHECK(run_sync(ioc, s.newest_undelivered(100)).empty());
}

TEST_CASE("store: marking seqs that were never committed is refused", "[store]") {
  TempDir dir;
  boost::asio::io_context ioc;
  store::Store s(options_for(dir.file("d.db")));
  run_sync(ioc, s.open());
  s.append(sample("p", 1.0));
  run_sync(ioc, s.flushed());
  CHECK_THROWS_AS(run_sync(ioc, s.mark_delivered(1, 2)), store::StoreError);
  CHECK_THROWS_AS(run_sync(ioc, s.mark_delivered(0, 1)), store::StoreError);
  CHECK(run_sync(ioc, s.delivered_ranges()).empty());
}

TEST_CASE("store: a cancelled wait resumes at once with operation_aborted", "[store]") {
  TempDir dir;
  auto o = options_for(dir.file("d.db"));
  o.batch_rows = 1000;
  o.batch_age = std::chrono::hours(1);  // flushed() would wait for an hour
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  s.append(sample("p", 1.0));
  boost::asio::cancellation_signal cancel;
  bool aborted = false;
  bool finished = false;
  boost::asio::co_spawn(ioc, s.flushed(),
                        boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, std::uint64_t) {
                          try {
                            if (e) std::rethrow_exception(e);
                          } catch (const boost::system::system_error& err) {
                            aborted = err.code() == boost::asio::error::operation_aborted;
                          }
                          finished = true;
                        }));
  ioc.restart();
  ioc.poll();
  CHECK_FALSE(finished);
  cancel.emit(boost::asio::cancellation_type::terminal);
  for (int i = 0; i < 100 && !finished; ++i) ioc.run_one_for(std::chrono::milliseconds(10));
  CHECK(finished);
  CHECK(aborted);
}
