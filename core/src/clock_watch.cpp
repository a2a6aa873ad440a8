// Clock warp detection: see clock_watch.hpp.
#include "weft/core/clock_watch.hpp"

#include <cstdlib>

namespace weft {

ClockWatch::ClockWatch(const Clock& clock, Duration threshold)
    : clock_(clock), threshold_ns_(threshold.count()), offset_ns_(current_offset()) {}

std::int64_t ClockWatch::current_offset() const noexcept { return clock_.wall_ns() - to_ns(clock_.now()); }

std::optional<ClockEvent> ClockWatch::check() {
  const std::int64_t now_offset = current_offset();
  const std::int64_t moved = now_offset - offset_ns_;
  if (std::llabs(moved) <= threshold_ns_) {
    offset_ns_ = now_offset;  // follow slow drift so it never adds up to a false warp
    return std::nullopt;
  }
  ClockEvent event{clock_.now(), offset_ns_, now_offset};
  offset_ns_ = now_offset;
  events_.push_back(event);
  if (events_.size() > kHistory) events_.pop_front();
  return event;
}

}  // namespace weft
