// Merged closed ranges of sequence numbers: see range_set.hpp.
#include "range_set.hpp"

#include <algorithm>

namespace weft::store {

RangeSet::Range RangeSet::insert(std::uint64_t first, std::uint64_t last) {
  if (last < first) std::swap(first, last);
  // Merge with every range that overlaps or touches [first, last].
  auto it = ranges_.upper_bound(first);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second + 1 >= first) it = prev;  // touches or overlaps from the left
  }
  while (it != ranges_.end() && (it->first <= last || it->first - 1 == last)) {
    first = std::min(first, it->first);
    last = std::max(last, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(first, last);
  return {first, last};
}

std::optional<RangeSet::Range> RangeSet::find(std::uint64_t seq) const {
  auto it = ranges_.upper_bound(seq);
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (it->second >= seq) return Range{it->first, it->second};
  return std::nullopt;
}

bool RangeSet::contains(std::uint64_t seq) const { return find(seq).has_value(); }

std::optional<std::uint64_t> RangeSet::next_start_after(std::uint64_t seq) const {
  auto it = ranges_.upper_bound(seq);
  if (it == ranges_.end()) return std::nullopt;
  return it->first;
}

std::optional<std::uint64_t> RangeSet::prev_end_before(std::uint64_t seq) const {
  auto it = ranges_.lower_bound(seq);  // first range starting at or after seq
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (it->second < seq) return it->second;
  // The range before seq contains it; the one before that ends before it.
  if (it == ranges_.begin()) return std::nullopt;
  return std::prev(it)->second;
}

std::vector<RangeSet::Range> RangeSet::ranges() const { return {ranges_.begin(), ranges_.end()}; }

}  // namespace weft::store
