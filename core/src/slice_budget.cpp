// Slice budgets ([service.NAME] slice_budget): the log side. The counting
// is on the slice's end (service_stats.cpp: a compare, a few stores); this
// runs on the loop at each clock check (1 s by default) and turns the
// counts into episodes, so a service that keeps going over its budget is
// one warning, not one line per slice:
//
//   quiet --count grew--> episode (warn: how long, budget, where, count)
//   episode --a whole check period with no slice over--> quiet (info: how
//   many in the episode, the worst)
//
// Why it matters: every service shares the loop, so a real-time service's
// worst latency is the longest slice of any other service (README).
#include <chrono>
#include <string>

#include <spdlog/spdlog.h>

#include "runtime_core.hpp"

namespace weft::detail {
namespace {

std::string micros(std::int64_t ns) { return std::to_string((ns + 500) / 1000) + " us"; }

std::string site_text(const AwaitSite& site) {
  return site.empty() ? "a wait outside the runtime's (an Asio operation, or its start)" : site_location(site);
}

void report(ServiceRecord& r) {
  const ServiceStats& s = r.stats;
  if (s.slices_over_budget > r.over_budget_seen) {
    if (!r.over_budget_episode) {
      r.over_budget_episode = true;
      r.over_budget_episode_start = r.over_budget_seen;
      r.logger->warn("a slice ran {} on the loop, over its slice_budget of {} ([service.{}] slice_budget): resumed "
                     "from {}, suspended in {}; {} slices over budget so far. Every service shares the loop: "
                     "split the work with a co_await (or move it to ctx.blocking)",
                     micros(s.over_budget_last_ns), micros(s.slice_budget_ns), r.spec.name,
                     site_text(s.over_budget_from), site_text(s.over_budget_at), s.slices_over_budget);
    }
    r.over_budget_seen = s.slices_over_budget;
    return;
  }
  if (r.over_budget_episode) {
    r.over_budget_episode = false;
    r.logger->info("slices back within slice_budget ({}): {} went over it in that episode, the worst {} so far",
                   micros(s.slice_budget_ns), r.over_budget_seen - r.over_budget_episode_start,
                   micros(s.over_budget_worst_ns));
  }
}

}  // namespace

void report_slice_budgets(RuntimeCore& core) {
  for (const auto& r : core.records)
    if (r->stats.slice_budget_ns > 0 || r->over_budget_episode) report(*r);
}

}  // namespace weft::detail
