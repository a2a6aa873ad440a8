// Counting user-space instructions of a benchmark child under callgrind
// (valgrind), for machines without hardware counters (this VM has none, so
// `perf stat -e instructions:u` reports "not supported"). Instruction counts
// say what the code did, not how fast the machine ran it; but a timer
// workload's count still moves with load, as a late process serves more
// waiters per wake (callers print that figure beside it).
#pragma once

#include <string>
#include <vector>

#include "measure.hpp"

namespace weft::bench {

struct CallgrindCount {
  double window_instructions = 0;  // user-space instructions (all threads) inside the child's window
  ChildResult result;              // the child's "result" line
};

// Runs this executable with `child_args` under `valgrind --tool=callgrind`;
// the child dumps its stats at the end of its measurement window (the
// "window" client request of workload.hpp). Throws std::runtime_error
// without valgrind (saying what to install) or without that dump.
CallgrindCount run_self_under_callgrind(const std::vector<std::string>& child_args);

}  // namespace weft::bench
