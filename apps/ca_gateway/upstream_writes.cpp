// The write bookkeeping of one upstream circuit (upstream_writes.hpp).
#include "weft/apps/ca_gateway/upstream_writes.hpp"

#include <algorithm>

namespace weft::apps::ca_gateway {

WriteElements write_elements(const weft::Value& v) {
  WriteElements w;
  if (const auto* d = std::get_if<double>(&v)) {
    w.elements = std::vector<double>{*d};
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    w.elements = std::vector<double>{static_cast<double>(*i)};
  } else if (const auto* b = std::get_if<bool>(&v)) {
    w.elements = std::vector<double>{*b ? 1.0 : 0.0};
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    w.elements = std::vector<std::string>{*s};
    w.from = ca::ValueType::string;
  } else {
    const auto values = std::get<NumberArray>(v).values();
    w.elements = std::vector<double>(values.begin(), values.end());
  }
  return w;
}

std::string write_error(const std::string& what, const std::string& pv, const std::string& server) {
  return "ca_gateway: " + what + " (PV " + pv + ", upstream " + server + ")";
}

std::size_t UpstreamWrites::queued() const noexcept { return order_.size(); }

std::uint32_t UpstreamWrites::next_ioid() {
  for (;;) {
    next_ = (next_ + 1) & ~kWriteIoid;
    const std::uint32_t ioid = next_ | kWriteIoid;
    if (!entries_.contains(ioid)) return ioid;
  }
}

void UpstreamWrites::queue(std::uint32_t ioid, Entry e) {
  e.sent = false;
  e.reading_back = false;
  entries_.insert_or_assign(ioid, std::move(e));
  order_.push_back(ioid);
}

std::size_t UpstreamWrites::flush(std::vector<std::uint8_t>& out) {
  std::size_t dropped = 0;
  for (const std::uint32_t ioid : order_) {
    const auto it = entries_.find(ioid);
    if (it == entries_.end() || it->second.sent) continue;  // failed meanwhile
    Entry& e = it->second;
    if (e.request->abandoned() || e.request->done()) {  // nobody waits for it: never sent
      entries_.erase(it);
      ++dropped;
      continue;
    }
    out.insert(out.end(), e.bytes.begin(), e.bytes.end());
    e.bytes = {};
    e.sent = true;
  }
  order_.clear();
  return dropped;
}

UpstreamWrites::Entry* UpstreamWrites::find(std::uint32_t ioid) {
  const auto it = entries_.find(ioid);
  return it == entries_.end() ? nullptr : &it->second;
}

UpstreamWrites::Entry UpstreamWrites::take(std::uint32_t ioid) {
  const auto it = entries_.find(ioid);
  Entry e = std::move(it->second);
  entries_.erase(it);
  return e;
}

std::size_t UpstreamWrites::fail_channel(std::uint32_t cid, const std::function<std::string(const Entry&)>& why) {
  std::vector<Entry> failed;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.cid == cid) {
      failed.push_back(std::move(it->second));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  // Answered after the table is consistent (an answer may lead to a new submit).
  for (Entry& e : failed) e.request->fail(why(e));
  return failed.size();
}

std::size_t UpstreamWrites::fail_all(const std::function<std::string(const Entry&)>& why) {
  std::map<std::uint32_t, Entry> failed;
  failed.swap(entries_);
  order_.clear();
  for (auto& [ioid, e] : failed) e.request->fail(why(e));
  return failed.size();
}

}  // namespace weft::apps::ca_gateway
