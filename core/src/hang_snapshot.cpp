// The hang dump's snapshot handover (see hang_snapshot.hpp).
#include "hang_snapshot.hpp"

#include <chrono>
#include <thread>

namespace weft::detail {

void HangSnapshot::publish(DumpInput input) {
  std::shared_ptr<const DumpInput> fresh = std::make_shared<const DumpInput>(std::move(input));
  {
    std::lock_guard lock(mutex_);
    latest_.swap(fresh);
  }
  // `fresh` now holds the previous snapshot: freed here, after the unlock
  // (or later by the monitor thread, if it holds it).
}

std::shared_ptr<const DumpInput> HangSnapshot::take(int attempts) const {
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (lock.owns_lock()) return latest_;
  }
  return nullptr;
}

}  // namespace weft::detail
