// A set of sequence numbers kept as disjoint, non-adjacent closed ranges
// [first, last], merged on insert. Holds the delivered ranges in memory
// (the writer's copy of the `delivered` table, and the reader's snapshot).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace weft::store {

class RangeSet {
public:
  using Range = std::pair<std::uint64_t, std::uint64_t>;  // first, last (inclusive)

  // Adds [first, last]; returns the merged range that now contains it.
  Range insert(std::uint64_t first, std::uint64_t last);
  bool contains(std::uint64_t seq) const;
  // The range containing seq, if any.
  std::optional<Range> find(std::uint64_t seq) const;
  // The lowest first_seq of a range starting after seq, if any.
  std::optional<std::uint64_t> next_start_after(std::uint64_t seq) const;
  // The highest last_seq of a range ending before seq, if any.
  std::optional<std::uint64_t> prev_end_before(std::uint64_t seq) const;

  std::vector<Range> ranges() const;
  bool empty() const noexcept { return ranges_.empty(); }
  void clear() noexcept { ranges_.clear(); }

private:
  std::map<std::uint64_t, std::uint64_t> ranges_;  // first -> last
};

}  // namespace weft::store
