// Slice accounting: which service runs now, and for how long.
// Uses steady_clock (vDSO, ~20 ns) rather than CLOCK_THREAD_CPUTIME_ID (a
// real syscall, ~300 ns) because it is read twice per handler. On a loop
// thread with a LoopBeacon (the stall monitor's view), each slice boundary
// also publishes who runs, since when and the wait it resumed from: one
// seqlock write (a few plain stores).
#include "weft/core/service_stats.hpp"

#include "alloc_accounting.hpp"
#include "critical_hooks.hpp"
#include "slice_clock.hpp"
#include "weft/core/loop_beacon.hpp"

namespace weft {
namespace {

struct SliceState {
  ServiceStats* current = nullptr;
  std::chrono::steady_clock::time_point started{};
  LoopBeacon* beacon = nullptr;  // set on a runtime's loop thread during run()
};
thread_local SliceState t_slice;

void charge(ServiceStats* stats, std::chrono::steady_clock::time_point now) noexcept {
  if (stats == nullptr) return;
  const std::int64_t ns = (now - t_slice.started).count();
  stats->loop_ns += ns;
  if (ns > stats->longest_slice_ns) stats->longest_slice_ns = ns;
  if (stats->slice_budget_ns > 0 && ns > stats->slice_budget_ns) [[unlikely]] {
    ++stats->slices_over_budget;
    stats->over_budget_last_ns = ns;
    if (ns > stats->over_budget_worst_ns) stats->over_budget_worst_ns = ns;
    // Charged at the slice's end (or when a nested slice pauses it): the
    // wait it resumed from is last_site, the one it suspends in is site.
    stats->over_budget_from = stats->last_site;
    stats->over_budget_at = stats->site;
  }
}

// A new turn of `stats` on the beacon, naming the wait it resumes from: the
// innermost site while its AwaitSiteScope still stands (it becomes
// last_site as the wait returns), else the wait it last returned from.
void publish_turn(LoopBeacon& beacon, const ServiceStats* stats, std::chrono::steady_clock::time_point now) noexcept {
  const std::int64_t ns = now.time_since_epoch().count();
  if (stats == nullptr) return beacon.turn(nullptr, ns);
  const AwaitSite& site = stats->site.empty() ? stats->last_site : stats->site;
  beacon.turn(stats, ns, site.what, site.file, site.line);
}

}  // namespace

SliceScope::SliceScope(ServiceStats* stats) noexcept
    : previous_(t_slice.current), enclosing_slice_serial_(detail::begin_slice_serial()) {
  const auto now = std::chrono::steady_clock::now();
  charge(previous_, now);  // pause the outer slice
  t_slice.current = stats;
  t_slice.started = now;
  if (LoopBeacon* b = t_slice.beacon) publish_turn(*b, stats, now);
  detail::set_allocation_target(stats);
  if (stats != nullptr) ++stats->slices;
}

SliceScope::~SliceScope() {
  const auto now = std::chrono::steady_clock::now();
  charge(t_slice.current, now);
  t_slice.current = previous_;
  t_slice.started = now;  // resume the outer slice
  if (LoopBeacon* b = t_slice.beacon) publish_turn(*b, previous_, now);
  detail::set_allocation_target(previous_);
  detail::end_slice_serial(enclosing_slice_serial_);
}

ServiceStats* SliceScope::current() noexcept { return t_slice.current; }

std::string site_location(const AwaitSite& site) {
  if (site.empty()) return {};
  return std::string(site.what) + " at " + site.file + ":" + std::to_string(site.line);
}

std::chrono::nanoseconds detail::slice_elapsed() noexcept {
  if (t_slice.current == nullptr) return std::chrono::nanoseconds::zero();
  return std::chrono::steady_clock::now() - t_slice.started;
}

void set_thread_loop_beacon(LoopBeacon* beacon) noexcept { t_slice.beacon = beacon; }

}  // namespace weft
