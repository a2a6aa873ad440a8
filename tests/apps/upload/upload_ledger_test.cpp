// The upload ledger's rules (upload_ledger.hpp): live batches above the live
// cursor, "live first" jumps that turn what they skip into backlog, backlog
// batches clipped below in-flight batches, and the cursor jumping them.
#include "weft/apps/upload/upload_ledger.hpp"

#include <catch2/catch.hpp>

using weft::apps::Batch;
using weft::apps::UploadLedger;
using weft::store::StoredReading;

namespace {
std::vector<StoredReading> rows(std::initializer_list<std::uint64_t> seqs) {
  std::vector<StoredReading> out;
  for (auto s : seqs) out.push_back(StoredReading{s, {}, 0});
  return out;
}
std::vector<std::uint64_t> seqs(const UploadLedger::Rows& r) {
  std::vector<std::uint64_t> out;
  for (const auto* x : r) out.push_back(x->seq);
  return out;
}
void in_flight(UploadLedger& l, const UploadLedger::Rows& r, bool backlog = false) {
  Batch b;
  b.first_seq = r.front()->seq;
  b.last_seq = r.back()->seq;
  b.rows = r.size();
  b.backlog = backlog;
  l.add(std::move(b));
}
using V = std::vector<std::uint64_t>;
}  // namespace

TEST_CASE("upload ledger: live batches follow the live cursor", "[upload][ledger]") {
  UploadLedger l(4);
  const auto first = rows({1, 2, 3});
  CHECK(seqs(l.take_live(first, 3)) == V{1, 2, 3});
  CHECK(l.live_cursor() == 3);
  const auto again = rows({3, 4});  // a row at the cursor is not taken twice
  CHECK(seqs(l.take_live(again, 4)) == V{4});
  CHECK(l.take_live({}, 9).empty());  // nothing undelivered: the cursor moves to what was committed
  CHECK(l.live_cursor() == 9);
  CHECK_FALSE(l.backlog_pending());
}

TEST_CASE("upload ledger: live first turns what it jumps over into backlog", "[upload][ledger]") {
  UploadLedger l(4);
  const auto start = rows({1, 2});
  in_flight(l, l.take_live(start, 2));
  // An outage: 3..100 committed meanwhile; the newest rows go first.
  const auto newest = rows({98, 99, 100});
  CHECK(seqs(l.take_newest(newest, 100)) == V{98, 99, 100});
  CHECK(l.live_cursor() == 100);
  CHECK(l.backlog_pending());
  CHECK(l.backlog_end() == 97);
  // The backlog starts after the in-flight batch 1..2, whatever the query returned.
  CHECK(l.backlog_query_after() == 2);
  const auto backlog = rows({3, 4, 5});
  CHECK(seqs(l.take_backlog(backlog)) == V{3, 4, 5});
  CHECK(l.backlog_query_after() == 5);
  // The rest is delivered already: the store returns nothing up to the end.
  CHECK(l.take_backlog({}).empty());
  CHECK_FALSE(l.backlog_pending());
}

TEST_CASE("upload ledger: newest rows all below the cursor move nothing into live", "[upload][ledger]") {
  UploadLedger l(4);
  const auto live = rows({10, 11});
  CHECK(seqs(l.take_live(live, 11)) == V{10, 11});
  const auto older = rows({5, 6});
  CHECK(l.take_newest(older, 20).empty());
  CHECK(l.live_cursor() == 20);
  CHECK(l.backlog_end() == 11);
}

TEST_CASE("upload ledger: a backlog batch is clipped below an in-flight batch, then jumps it", "[upload][ledger]") {
  UploadLedger l(8);
  const auto newest = rows({50});
  in_flight(l, l.take_newest(newest, 50));  // backlog is 1..49
  // A batch 20..30 from before a reconnect is still in flight.
  const auto old = rows({20, 25, 30});
  UploadLedger::Rows old_rows{&old[0], &old[1], &old[2]};
  in_flight(l, old_rows);
  const auto q1 = rows({10, 15, 20, 25, 30, 35});
  CHECK(seqs(l.take_backlog(q1)) == V{10, 15});  // stops before 20
  CHECK(l.backlog_query_after() == 15);
  const auto q2 = rows({20, 25, 30, 35});
  CHECK(l.take_backlog(q2).empty());  // nothing before the in-flight batch: jump it
  CHECK(l.backlog_query_after() == 30);
  const auto q3 = rows({35, 40, 50});
  CHECK(seqs(l.take_backlog(q3)) == V{35, 40});  // 50 is live, above the backlog's end
  CHECK(l.take_backlog({}).empty());
  CHECK_FALSE(l.backlog_pending());
}

TEST_CASE("upload ledger: the cursor jumps in-flight batches that start where it stands", "[upload][ledger]") {
  UploadLedger l(8);
  const auto newest = rows({100});
  in_flight(l, l.take_newest(newest, 100));
  const auto a = rows({1, 2, 3});
  in_flight(l, UploadLedger::Rows{&a[0], &a[1], &a[2]});
  const auto b = rows({4, 9});
  in_flight(l, UploadLedger::Rows{&b[0], &b[1]});
  CHECK(l.backlog_query_after() == 9);
}

TEST_CASE("upload ledger: one in-flight slot is kept for live data", "[upload][ledger]") {
  UploadLedger l(2);
  CHECK(l.live_slot_free());
  CHECK(l.backlog_slot_free());
  const auto r = rows({1});
  in_flight(l, UploadLedger::Rows{&r[0]});
  CHECK(l.live_slot_free());
  CHECK_FALSE(l.backlog_slot_free());
  const auto r2 = rows({2});
  in_flight(l, UploadLedger::Rows{&r2[0]});
  CHECK_FALSE(l.live_slot_free());
  l.erase(1);
  CHECK(l.live_slot_free());
  CHECK(l.find(2) != nullptr);
  CHECK(l.find(1) == nullptr);
}
