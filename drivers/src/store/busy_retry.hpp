// Pacing of retries while another process holds the database lock
// (SQLITE_BUSY/SQLITE_LOCKED): exponential backoff with jitter, capped. An
// episode runs from the first BUSY to the next success; the writer logs its
// start, its passing the deadline, and its end — once each, not per retry.
//
//   idle --busy--> contended --busy, past deadline (reported once)--> overdue
//    ^                 |                                                  |
//    +----success------+------------------------success-------------------+
#pragma once

#include <cstdint>
#include <optional>
#include <random>

#include "weft/core/clock.hpp"

namespace weft::store {

struct BusyStep {
  Duration wait;          // sleep this long, then retry
  bool episode_began;     // first BUSY of an episode
  bool deadline_passed;   // the episode has just outlasted the deadline
};

class BusyRetry {
public:
  BusyRetry(Duration min_wait, Duration max_wait, Duration deadline, std::uint64_t seed);

  BusyStep on_busy(MonoTime now);
  // Ends the episode; returns how long it lasted, if one was open.
  std::optional<Duration> on_success(MonoTime now);
  bool in_episode() const noexcept { return started_.has_value(); }

private:
  Duration min_wait_, max_wait_, deadline_;
  std::mt19937_64 rng_;
  std::optional<MonoTime> started_;
  Duration next_ceiling_{};
  bool overdue_reported_ = false;
};

}  // namespace weft::store
