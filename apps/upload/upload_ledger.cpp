// UploadLedger (upload_ledger.hpp): the cursor arithmetic and the clipping
// that keep in-flight ranges disjoint.
#include "weft/apps/upload/upload_ledger.hpp"

#include <algorithm>

namespace weft::apps {

UploadLedger::Rows UploadLedger::take_live(const std::vector<store::StoredReading>& rows,
                                           std::uint64_t committed_before_query) {
  Rows out;
  for (const auto& r : rows)
    if (r.seq > live_cursor_) out.push_back(&r);
  if (out.empty())
    live_cursor_ = std::max(live_cursor_, committed_before_query);
  else
    live_cursor_ = out.back()->seq;
  return out;
}

UploadLedger::Rows UploadLedger::take_newest(const std::vector<store::StoredReading>& rows,
                                             std::uint64_t committed_before_query) {
  Rows out;
  for (const auto& r : rows)
    if (r.seq > live_cursor_) out.push_back(&r);
  if (out.empty()) {
    // Nothing undelivered above the live cursor: the rows below it are backlog.
    backlog_end_ = std::max(backlog_end_, live_cursor_);
    live_cursor_ = std::max(live_cursor_, committed_before_query);
    return out;
  }
  backlog_end_ = std::max(backlog_end_, out.front()->seq - 1);
  live_cursor_ = out.back()->seq;
  return out;
}

std::uint64_t UploadLedger::backlog_query_after() {
  // Jump over in-flight batches that the cursor has reached.
  for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
    const Batch& b = it->second;
    if (b.first_seq <= backlog_cursor_ + 1 && b.last_seq > backlog_cursor_) backlog_cursor_ = b.last_seq;
  }
  return backlog_cursor_;
}

UploadLedger::Rows UploadLedger::take_backlog(const std::vector<store::StoredReading>& rows) {
  Rows out;
  const std::uint64_t after = backlog_query_after();
  // The first in-flight batch above the cursor bounds this batch (rule 4).
  std::uint64_t limit = backlog_end_;
  const Batch* next = nullptr;
  if (auto it = in_flight_.upper_bound(after); it != in_flight_.end() && it->first - 1 < limit) {
    limit = it->first - 1;
    next = &it->second;
  }
  for (const auto& r : rows)
    if (r.seq > after && r.seq <= limit) out.push_back(&r);
  if (!out.empty()) {
    backlog_cursor_ = out.back()->seq;
    return out;
  }
  const bool beyond_limit = !rows.empty() && rows.back().seq > limit;
  if (next != nullptr && beyond_limit)
    backlog_cursor_ = next->last_seq;  // nothing undelivered before that batch: jump it
  else
    backlog_cursor_ = std::max(backlog_cursor_, backlog_end_);  // nothing undelivered up to the end
  return out;
}

void UploadLedger::add(Batch batch) {
  const std::uint64_t first = batch.first_seq;
  in_flight_.insert_or_assign(first, std::move(batch));
}

Batch* UploadLedger::find(std::uint64_t first_seq) {
  auto it = in_flight_.find(first_seq);
  return it == in_flight_.end() ? nullptr : &it->second;
}

}  // namespace weft::apps
