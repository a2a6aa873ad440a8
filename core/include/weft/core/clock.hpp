// The runtime's notion of time: one interface, a real and a virtual clock.
// Scheduling uses only monotonic time (CLOCK_MONOTONIC via steady_clock);
// wall time is a label on readings and never decides when anything runs.
// The virtual clock moves only when the runtime advances it, so a test can
// run an hour of timers in milliseconds, deterministically.
#pragma once

#include <chrono>
#include <cstdint>

namespace weft {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::steady_clock::time_point;  // CLOCK_MONOTONIC on Linux

class Clock {
public:
  virtual ~Clock() = default;
  virtual MonoTime now() const noexcept = 0;
  // Wall time in ns since the Unix epoch: a label, may jump (see ClockWatch).
  virtual std::int64_t wall_ns() const noexcept = 0;
  virtual bool is_virtual() const noexcept = 0;
};

class RealClock final : public Clock {
public:
  MonoTime now() const noexcept override { return std::chrono::steady_clock::now(); }
  std::int64_t wall_ns() const noexcept override;
  bool is_virtual() const noexcept override { return false; }
};

// Time stands still until advance_to(). Starts at a fixed monotonic instant
// and a fixed wall time so runs are reproducible.
class VirtualClock final : public Clock {
public:
  static constexpr MonoTime kStart = MonoTime{std::chrono::hours(1)};
  static constexpr std::int64_t kStartWallNs = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z

  MonoTime now() const noexcept override { return now_; }
  std::int64_t wall_ns() const noexcept override;
  bool is_virtual() const noexcept override { return true; }

  // Moves time forward to t; never backwards (an earlier t is ignored).
  void advance_to(MonoTime t) noexcept;
  // Simulates someone setting the wall clock: wall time jumps by delta
  // while monotonic time does not.
  void jump_wall(Duration delta) noexcept { wall_offset_ns_ += delta.count(); }

private:
  MonoTime now_ = kStart;
  std::int64_t wall_offset_ns_ = kStartWallNs - kStart.time_since_epoch().count();
};

inline std::int64_t to_ns(MonoTime t) noexcept { return t.time_since_epoch().count(); }

}  // namespace weft
