// Loop lag histogram: log2 buckets of microseconds, O(1) per sample (a
// count-leading-zeros), no allocation.
#include "weft/core/loop_lag.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace weft {
namespace {

std::size_t bucket_of(Duration lag) noexcept {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(lag).count();
  if (us <= 0) return 0;
  const auto i = static_cast<std::size_t>(std::bit_width(static_cast<std::uint64_t>(us)));  // 1 -> 1, 2..3 -> 2
  return std::min(i, LagHistogram::kBuckets - 1);
}

}  // namespace

Duration LagHistogram::bucket_lower(std::size_t i) noexcept {
  if (i == 0) return Duration::zero();
  return std::chrono::microseconds(std::int64_t{1} << (i - 1));
}

Duration LagHistogram::bucket_upper(std::size_t i) noexcept {
  return std::chrono::microseconds(std::int64_t{1} << i);
}

void LagHistogram::record(Duration lag) noexcept {
  if (lag < Duration::zero()) lag = Duration::zero();
  ++buckets_[bucket_of(lag)];
  ++count_;
  max_ = std::max(max_, lag);
}

void LagHistogram::merge(const LagHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

Duration LagHistogram::percentile(double q) const noexcept {
  if (count_ == 0) return Duration::zero();
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the q-quantile sample, 1-based: at least the first sample.
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return i + 1 == kBuckets ? max_ : std::min(bucket_upper(i), max_);  // the last is open-ended
  }
  return max_;
}

void LoopLag::record(MonoTime due, MonoTime now) noexcept {
  if (window_start_ == MonoTime{}) window_start_ = now;
  if (now - window_start_ >= window_) {
    // A gap of two windows or more leaves nothing recent from before it.
    previous_ = now - window_start_ >= 2 * window_ ? LagHistogram{} : current_;
    current_.reset();
    window_start_ = now;
  }
  const Duration lag = now - due;
  total_.record(lag);
  current_.record(lag);
}

LoopLagSnapshot LoopLag::snapshot(Duration probe_period) const {
  LoopLagSnapshot s{total_, previous_, probe_period, window_};
  s.recent.merge(current_);
  return s;
}

}  // namespace weft
