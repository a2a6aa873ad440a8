// Per-service accounting that the service executor keeps as handlers run:
// loop time, run slices, the longest slice, heap allocations, and where the
// service is suspended. Written only on the loop thread; read via snapshots.
// "Loop time" is the monotonic time a service's handlers held the loop
// thread: on the single loop thread that is the CPU it took from everyone.
#pragma once

#include <cstdint>
#include <source_location>
#include <string>

#include "weft/core/clock.hpp"

namespace weft {

class CriticalSection;
struct MemoryAccount;

// Where a service waits: set by the runtime's own waits (sleep, ticker,
// bus receive, blocking work), from the caller's std::source_location.
struct AwaitSite {
  const char* what = nullptr;  // "sleep", "ticker", "bus receive", ... (static string)
  const char* file = nullptr;
  std::uint32_t line = 0;
  MonoTime since{};             // monotonic time the wait began (runtime clock)

  bool empty() const noexcept { return what == nullptr; }
};

struct ServiceStats {
  std::uint64_t slices = 0;          // handler invocations attributed to the service
  std::int64_t loop_ns = 0;          // total time its handlers held the loop
  std::int64_t longest_slice_ns = 0; // longest single uninterrupted slice
  std::uint64_t allocations = 0;     // operator new calls while it ran
  std::uint64_t allocated_bytes = 0; // bytes requested by those calls
  // Its held bytes and memory_limit (memory_account.hpp; set at launch,
  // never freed: a snapshot may keep the pointer). Null: not tracked.
  MemoryAccount* memory = nullptr;
  AwaitSite site;                    // innermost current wait, empty while running
  AwaitSite last_site;               // the wait it last resumed from (stall reports name it)

  // Slice budget (ServiceSpec::slice_budget, set at each launch; 0: none).
  // A slice over it is counted; the latest one's length and sites are kept
  // (resumed from: the wait it began after; suspended at: the wait it ended
  // in, empty when it ended otherwise), so the log and the console can say
  // where the long code runs. Plain stores on the slice's end, no allocation.
  std::int64_t slice_budget_ns = 0;
  std::uint64_t slices_over_budget = 0;
  std::int64_t over_budget_worst_ns = 0;
  std::int64_t over_budget_last_ns = 0;
  AwaitSite over_budget_from;
  AwaitSite over_budget_at;
};

// The slice scope: everything that runs inside one is charged to `stats`.
// Nesting (a handler of B dispatched inline from A) charges each its own
// exclusive time: A's clock pauses while B runs.
class SliceScope {
public:
  explicit SliceScope(ServiceStats* stats) noexcept;
  ~SliceScope();
  SliceScope(const SliceScope&) = delete;
  SliceScope& operator=(const SliceScope&) = delete;

  // The service whose handler is running on this thread now, or nullptr.
  static ServiceStats* current() noexcept;

private:
  ServiceStats* previous_;
  std::uint64_t enclosing_slice_serial_;  // a section opened in this slice and open at its end was suspended in (critical_section.hpp)
};

// "sleep at file.cpp:42"; empty for an empty site (callers say what that means).
std::string site_location(const AwaitSite& site);

// Marks an await site for the current wait; restores the previous one after.
class AwaitSiteScope {
public:
  AwaitSiteScope(ServiceStats& stats, const char* what, const std::source_location& loc,
                 MonoTime since) noexcept
      : stats_(stats), saved_(stats.site) {
    stats.site = AwaitSite{what, loc.file_name(), loc.line(), since};
  }
  ~AwaitSiteScope() {
    stats_.last_site = stats_.site;
    stats_.site = saved_;
  }
  AwaitSiteScope(const AwaitSiteScope&) = delete;
  AwaitSiteScope& operator=(const AwaitSiteScope&) = delete;

private:
  ServiceStats& stats_;
  AwaitSite saved_;
};

}  // namespace weft
