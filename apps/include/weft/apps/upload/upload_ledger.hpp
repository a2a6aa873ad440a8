// The upload's bookkeeping, without I/O: which seq ranges are in flight
// (published, not yet acknowledged), where live data and the backlog stand,
// and which rows of a store query go into the next batch. Loop thread only.
//
// Rules (each batch is marked delivered as a whole range on its PUBACKs, so):
//  1. In-flight batches cover disjoint seq ranges [first_seq, last_seq].
//  2. A batch holds every undelivered row of its range (the store returns
//     undelivered rows ascending; rows in between are delivered or lost).
//  3. Live batches lie above live_cursor() as it was when they were taken;
//     the backlog lies at or below backlog_end(), so the two never overlap.
//  4. A backlog batch is clipped below the next in-flight batch, and the
//     backlog cursor jumps over in-flight ranges.
//
// Seq space:  0 ... backlog_cursor ... backlog_end ... live_cursor ... committed
//                 |<- drained ->|<--- backlog --->|<- sent live ->|<- next live
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "weft/drivers/store/store.hpp"

namespace weft::apps {

struct UploadMessage {
  std::string topic;
  std::string payload;
};

struct Batch {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::size_t rows = 0;
  bool backlog = false;
  std::vector<UploadMessage> messages;  // one per topic (one unless the topic has {point})
  std::size_t acked = 0;                // messages acknowledged on the current connection
  std::size_t sends = 0;                // times published (more than 1: resent after a reconnect)
};

class UploadLedger {
public:
  using Rows = std::vector<const store::StoredReading*>;

  explicit UploadLedger(std::size_t max_in_flight) : max_in_flight_(max_in_flight) {}

  // ---- live ----------------------------------------------------------
  std::uint64_t live_cursor() const noexcept { return live_cursor_; }
  // Rows of undelivered(live_cursor(), n) for the next live batch; with none,
  // everything up to `committed_before_query` is known delivered or sent.
  Rows take_live(const std::vector<store::StoredReading>& rows, std::uint64_t committed_before_query);
  // Rows of newest_undelivered(n) above live_cursor() for a live batch that
  // jumps ahead ("live first"); what it jumps over becomes backlog. With
  // none, as take_live.
  Rows take_newest(const std::vector<store::StoredReading>& rows, std::uint64_t committed_before_query);

  // ---- backlog ---------------------------------------------------------
  bool backlog_pending() const noexcept { return backlog_cursor_ < backlog_end_; }
  std::uint64_t backlog_end() const noexcept { return backlog_end_; }
  // The after_seq for the next backlog query (moved past in-flight ranges).
  std::uint64_t backlog_query_after();
  // Rows of undelivered(backlog_query_after(), n) for a backlog batch. Empty
  // with backlog_pending(): the cursor jumped an in-flight batch; ask again.
  Rows take_backlog(const std::vector<store::StoredReading>& rows);
  std::uint64_t backlog_span() const noexcept { return backlog_pending() ? backlog_end_ - backlog_cursor_ : 0; }

  // ---- batches in flight ----------------------------------------------
  bool live_slot_free() const noexcept { return in_flight_.size() < max_in_flight_; }
  bool backlog_slot_free() const noexcept { return in_flight_.size() + 1 < max_in_flight_; }
  void add(Batch batch);
  Batch* find(std::uint64_t first_seq);
  void erase(std::uint64_t first_seq) { in_flight_.erase(first_seq); }
  std::map<std::uint64_t, Batch>& in_flight() noexcept { return in_flight_; }
  std::size_t in_flight_count() const noexcept { return in_flight_.size(); }

private:
  std::size_t max_in_flight_;
  std::map<std::uint64_t, Batch> in_flight_;  // by first_seq
  std::uint64_t live_cursor_ = 0;     // highest seq handled by the live path
  std::uint64_t backlog_cursor_ = 0;  // backlog drained (or in flight) up to here
  std::uint64_t backlog_end_ = 0;     // backlog extends up to here
};

}  // namespace weft::apps
