// Slice accounting: which service runs now, and for how long.
// Uses steady_clock (vDSO, ~20 ns) rather than CLOCK_THREAD_CPUTIME_ID (a
// real syscall, ~300 ns) because it is read twice per handler.
#include "weft/core/service_stats.hpp"

#include "alloc_accounting.hpp"

namespace weft {
namespace {

struct SliceState {
  ServiceStats* current = nullptr;
  std::chrono::steady_clock::time_point started{};
};
thread_local SliceState t_slice;

void charge(ServiceStats* stats, std::chrono::steady_clock::time_point now) noexcept {
  if (stats == nullptr) return;
  const std::int64_t ns = (now - t_slice.started).count();
  stats->loop_ns += ns;
  if (ns > stats->longest_slice_ns) stats->longest_slice_ns = ns;
}

}  // namespace

SliceScope::SliceScope(ServiceStats* stats) noexcept : previous_(t_slice.current) {
  const auto now = std::chrono::steady_clock::now();
  charge(previous_, now);  // pause the outer slice
  t_slice.current = stats;
  t_slice.started = now;
  detail::set_allocation_target(stats);
  if (stats != nullptr) ++stats->slices;
}

SliceScope::~SliceScope() {
  const auto now = std::chrono::steady_clock::now();
  charge(t_slice.current, now);
  t_slice.current = previous_;
  t_slice.started = now;  // resume the outer slice
  detail::set_allocation_target(previous_);
}

ServiceStats* SliceScope::current() noexcept { return t_slice.current; }

}  // namespace weft
