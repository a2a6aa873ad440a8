// The loop beacon's reader side (see loop_beacon.hpp): a seqlock read that
// retries a bounded number of times, so it can run in a signal handler that
// interrupted the writer without spinning for ever.
#include "weft/core/loop_beacon.hpp"

namespace weft {

std::optional<LoopTurn> LoopBeacon::read(int attempts) const noexcept {
  for (int i = 0; i < attempts; ++i) {
    const std::uint64_t before = seq_.load(std::memory_order_acquire);
    if ((before & 1U) != 0) continue;  // a write is under way
    LoopTurn t;
    t.service = service_.load(std::memory_order_acquire);
    t.start_ns = start_ns_.load(std::memory_order_acquire);
    t.site_what = site_what_.load(std::memory_order_acquire);
    t.site_file = site_file_.load(std::memory_order_acquire);
    t.site_line = site_line_.load(std::memory_order_acquire);
    // The acquire loads above keep this load after them: if any field came
    // from a later write, this sees that write's odd (or a later) sequence.
    if (seq_.load(std::memory_order_relaxed) != before) continue;
    t.turn = before;
    return t;
  }
  return std::nullopt;
}

}  // namespace weft
