// Real and virtual clocks.
#include "weft/core/clock.hpp"

#include <time.h>

namespace weft {

std::int64_t RealClock::wall_ns() const noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t VirtualClock::wall_ns() const noexcept { return to_ns(now_) + wall_offset_ns_; }

void VirtualClock::advance_to(MonoTime t) noexcept {
  if (t > now_) now_ = t;
}

}  // namespace weft
