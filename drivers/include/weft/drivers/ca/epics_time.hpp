// EPICS time stamps: seconds and nanoseconds since 1990-01-01 00:00:00 UTC,
// two big-endian u32 on the wire (channel-access.md §5.4). Conversions from
// and to the system clock saturate instead of wrapping: a time before 1990 is
// the epoch itself, a time after 2126 the largest stamp.
#pragma once

#include <chrono>
#include <cstdint>

namespace weft::ca {

inline constexpr std::int64_t epics_epoch_posix_seconds = 631152000;  // 1990-01-01 in POSIX seconds

struct TimeStamp {
  std::uint32_t sec_past_epoch = 0;
  std::uint32_t nsec = 0;  // below 10^9

  friend bool operator==(const TimeStamp&, const TimeStamp&) = default;
};

TimeStamp to_epics(std::chrono::system_clock::time_point t) noexcept;
std::chrono::system_clock::time_point from_epics(TimeStamp t) noexcept;

}  // namespace weft::ca
