// Page faults of the loop thread, sampled at each clock check (once a
// second by default): the total since the loop started and the count of
// each of the last kPeriods periods, so a locked-memory profile can show
// that the loop no longer faults once it has warmed up. Loop thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "weft/core/realtime.hpp"

namespace weft::detail {

class LoopFaults {
public:
  static constexpr std::size_t kPeriods = 10;

  void start() noexcept {
    start_ = prev_ = thread_faults();
    started_ = true;
  }
  void sample() noexcept {
    if (!started_) return;
    const FaultCount now = thread_faults();
    periods_[samples_ % kPeriods] = (now.minor - prev_.minor) + (now.major - prev_.major);
    prev_ = now;
    ++samples_;
  }
  FaultCount since_start() const noexcept {
    const FaultCount now = thread_faults();
    return {now.minor - start_.minor, now.major - start_.major};
  }
  std::uint64_t samples() const noexcept { return samples_; }
  // The i-th most recent period's faults (0: the last one); i < min(samples(), kPeriods).
  std::uint64_t recent(std::size_t i) const noexcept { return periods_[(samples_ - 1 - i) % kPeriods]; }

private:
  FaultCount start_{};
  FaultCount prev_{};
  std::array<std::uint64_t, kPeriods> periods_{};
  std::uint64_t samples_ = 0;
  bool started_ = false;
};

}  // namespace weft::detail
