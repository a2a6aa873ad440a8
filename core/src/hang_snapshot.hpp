// Internal: the loop's picture of itself for a hang dump. The loop thread
// refreshes it (every service, the bus queues, loop lag, the dump sections,
// all copied into plain values) on the health tick and hands it over under
// a mutex held only for a pointer swap; the monitor thread, which must not
// touch loop-owned state, only try_locks it (bounded) and formats the copy.
// A snapshot shared between the two threads, immutable once published, with
// either thread possibly the last to let go: hence shared_ptr<const>.
#pragma once

#include <memory>
#include <mutex>

#include "weft/core/dump.hpp"

namespace weft::detail {

class HangSnapshot {
public:
  // Loop thread. The previous snapshot is released outside the lock.
  void publish(DumpInput input);
  // Monitor thread: the latest snapshot, or null if there is none yet or the
  // lock stayed taken for `attempts` tries 1 ms apart (never blocks longer).
  std::shared_ptr<const DumpInput> take(int attempts = 20) const;

private:
  mutable std::mutex mutex_;
  std::shared_ptr<const DumpInput> latest_;
};

}  // namespace weft::detail
