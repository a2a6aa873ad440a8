// Memory budgets ([service.NAME] memory_limit): the loop side. The counting
// and the refusal are in the allocation path (alloc_accounting.cpp: no
// allocation, no logging there); this turns them into log lines and feeds
// the leak rule (memory_account.hpp), on the loop thread:
//   - a refusal is logged once, with the service, the limit, what it held,
//     the request and the high-water mark: when the service exits (the
//     supervisor, before it records the failure), or at the next clock
//     check when the service caught the bad_alloc and went on;
//   - each clock check samples every account's held bytes for LeakWatch.
#include <string>

#include <spdlog/spdlog.h>

#include "runtime_core.hpp"
#include "weft/core/memory_account.hpp"

namespace weft {

void LeakWatch::sample(MonoTime now, std::int64_t held) noexcept {
  if (!started_) {
    started_ = true;
    window_start_ = now;
    window_min_ = held;
    return;
  }
  if (held < window_min_) window_min_ = held;
  if (now - window_start_ < kWindow) return;
  if (floors_seen_ < kRises + 1) {
    floors_[floors_seen_++] = window_min_;
  } else {
    for (int i = 0; i < kRises; ++i) floors_[i] = floors_[i + 1];
    floors_[kRises] = window_min_;
  }
  window_start_ = now;
  window_min_ = held;
  bool rising = floors_seen_ == kRises + 1;
  for (int i = 0; rising && i < kRises; ++i) rising = floors_[i + 1] > floors_[i];
  suspected_ = rising;
}

namespace detail {

void report_memory_refusal(ServiceRecord& r) {
  MemoryAccount* a = r.stats.memory;
  if (a == nullptr || a->refusals == a->refusals_logged) return;
  const std::uint64_t fresh = a->refusals - a->refusals_logged;
  a->refusals_logged = a->refusals;
  r.logger->error("service {} went over its memory_limit of {} bytes ([service.{}] memory_limit): it held {} bytes "
                  "and asked for {} more; high-water mark {} bytes; std::bad_alloc was thrown in it ({} refusal{} "
                  "since the last report). Raise the limit, or see what grows with the console's `mem`",
                  r.spec.name, a->limit, r.spec.name, a->refused_held, a->refused_bytes, a->high, fresh,
                  fresh == 1 ? "" : "s");
}

void report_memory(RuntimeCore& core) {
  const MonoTime now = core.clock->now();
  for (const auto& r : core.records) {
    MemoryAccount* a = r->stats.memory;
    if (a == nullptr) continue;
    report_memory_refusal(*r);
    const bool was = a->leak.suspected();
    a->leak.sample(now, a->held.load(std::memory_order_relaxed));
    if (a->leak.suspected() && !was)
      r->logger->warn("suspected leak: the least it held rose in each of the last {} windows of {} min, by {} bytes "
                      "in all (console `mem`)",
                      LeakWatch::kRises, std::chrono::duration_cast<std::chrono::minutes>(LeakWatch::kWindow).count(),
                      a->leak.rise());
  }
}

}  // namespace detail
}  // namespace weft
