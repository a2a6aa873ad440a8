// EPICS epoch conversions, saturating at both ends of the u32 seconds range.
#include "weft/drivers/ca/epics_time.hpp"

namespace weft::ca {

TimeStamp to_epics(std::chrono::system_clock::time_point t) noexcept {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  std::int64_t sec = ns / 1'000'000'000;
  std::int64_t nsec = ns % 1'000'000'000;
  if (nsec < 0) {
    nsec += 1'000'000'000;
    --sec;
  }
  const std::int64_t epics = sec - epics_epoch_posix_seconds;
  if (epics < 0) return {};
  if (epics > 0xFFFFFFFFll) return {0xFFFFFFFFu, 999'999'999u};
  return {static_cast<std::uint32_t>(epics), static_cast<std::uint32_t>(nsec)};
}

std::chrono::system_clock::time_point from_epics(TimeStamp t) noexcept {
  using namespace std::chrono;
  const std::uint32_t nsec = t.nsec < 1'000'000'000u ? t.nsec : 999'999'999u;
  return system_clock::time_point(duration_cast<system_clock::duration>(
      seconds(std::int64_t{t.sec_past_epoch} + epics_epoch_posix_seconds) + nanoseconds(nsec)));
}

}  // namespace weft::ca
