// Loop lag: how late the loop runs a timer past its deadline, as a log2
// histogram. A probe timer on the loop (zero slack) records one sample per
// firing, so the histogram fills continuously whether or not any service
// uses timers. Percentiles are bucket upper bounds: an estimate that never
// understates, at most 2x high. Loop thread only; plain data, no atomics.
#pragma once

#include <array>
#include <cstdint>

#include "weft/core/clock.hpp"

namespace weft {

class LagHistogram {
public:
  // Bucket 0: [0, 1 us); bucket i >= 1: [2^(i-1), 2^i) us; the last bucket
  // also takes everything above (2^(kBuckets-2) us ~ 17 min).
  static constexpr std::size_t kBuckets = 32;

  void record(Duration lag) noexcept;
  void merge(const LagHistogram& other) noexcept;
  void reset() noexcept { *this = LagHistogram{}; }

  std::uint64_t count() const noexcept { return count_; }
  Duration max() const noexcept { return max_; }
  // The upper bound of the bucket holding the q-quantile (0 < q <= 1),
  // capped at max(); zero when empty.
  Duration percentile(double q) const noexcept;
  const std::array<std::uint64_t, kBuckets>& buckets() const noexcept { return buckets_; }
  // [lower, upper) of bucket i.
  static Duration bucket_lower(std::size_t i) noexcept;
  static Duration bucket_upper(std::size_t i) noexcept;

private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  Duration max_{};
};

// What the console and STATUS= show: since start, and over the recent window
// (the current and the previous window period, so 1-2 periods of history).
struct LoopLagSnapshot {
  LagHistogram total;
  LagHistogram recent;
  Duration probe_period{};
  Duration window{};
};

// The two histograms and their rotation. Loop thread only.
class LoopLag {
public:
  explicit LoopLag(Duration window = std::chrono::seconds(60)) : window_(window) {}

  // One probe sample: the probe was due at `due` and ran at `now`.
  void record(MonoTime due, MonoTime now) noexcept;
  LoopLagSnapshot snapshot(Duration probe_period = {}) const;

private:
  Duration window_;
  MonoTime window_start_{};
  LagHistogram total_;
  LagHistogram current_;
  LagHistogram previous_;
};

}  // namespace weft
