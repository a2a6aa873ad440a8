// Backoff with jitter for lock contention: see busy_retry.hpp.
#include "busy_retry.hpp"

#include <algorithm>

namespace weft::store {

BusyRetry::BusyRetry(Duration min_wait, Duration max_wait, Duration deadline, std::uint64_t seed)
    : min_wait_(min_wait), max_wait_(std::max(min_wait, max_wait)), deadline_(deadline), rng_(seed) {}

BusyStep BusyRetry::on_busy(MonoTime now) {
  BusyStep step{};
  if (!started_) {
    started_ = now;
    next_ceiling_ = min_wait_;
    overdue_reported_ = false;
    step.episode_began = true;
  }
  if (!overdue_reported_ && now - *started_ >= deadline_) {
    overdue_reported_ = true;
    step.deadline_passed = true;
  }
  // "Equal jitter": half the ceiling fixed, half random, so retries of two
  // contenders spread out but never collapse to zero.
  const auto ceiling = next_ceiling_.count();
  std::uniform_int_distribution<Duration::rep> jitter(0, std::max<Duration::rep>(ceiling / 2, 1));
  step.wait = Duration(ceiling / 2 + jitter(rng_));
  next_ceiling_ = std::min(max_wait_, next_ceiling_ * 2);
  return step;
}

std::optional<Duration> BusyRetry::on_success(MonoTime now) {
  if (!started_) return std::nullopt;
  const Duration lasted = now - *started_;
  started_.reset();
  return lasted;
}

}  // namespace weft::store
