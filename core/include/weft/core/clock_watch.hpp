// Wall-clock warp detection. The offset wall - monotonic is constant while
// nobody sets the clock; when it moves by more than a threshold between two
// checks (NTP step, an operator, an RTC-less box getting its first time),
// that is a clock event: the old and new offsets are what a store needs to
// correct timestamps taken before the jump.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "weft/core/clock.hpp"

namespace weft {

struct ClockEvent {
  MonoTime at;                 // monotonic time the jump was noticed
  std::int64_t old_offset_ns;  // wall - mono before
  std::int64_t new_offset_ns;  // wall - mono after
};

class ClockWatch {
public:
  static constexpr std::size_t kHistory = 64;

  ClockWatch(const Clock& clock, Duration threshold);

  // Compares the current offset with the last one; a change beyond the
  // threshold is recorded and returned. Slow drift (NTP slewing) is absorbed.
  std::optional<ClockEvent> check();

  std::int64_t offset_ns() const noexcept { return offset_ns_; }
  const std::deque<ClockEvent>& events() const noexcept { return events_; }  // newest last, bounded

private:
  std::int64_t current_offset() const noexcept;

  const Clock& clock_;
  std::int64_t threshold_ns_;
  std::int64_t offset_ns_;
  std::deque<ClockEvent> events_;
};

}  // namespace weft
