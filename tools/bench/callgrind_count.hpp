// Counting user-space instructions of a benchmark child under callgrind
// (valgrind), for machines without hardware counters (this VM has none, so
// `perf stat -e instructions:u` reports "not supported"). Instruction counts
// do not depend on the machine's load, unlike CPU time.
#pragma once

#include <string>
#include <vector>

#include "measure.hpp"

namespace weft::bench {

struct CallgrindCount {
  double instructions = 0;  // every instruction the child ran in user space (all threads)
  ChildResult result;       // the child's "result" line
};

// Runs this executable with `child_args` under `valgrind --tool=callgrind`.
// Throws std::runtime_error (saying what to install) without valgrind.
CallgrindCount run_self_under_callgrind(const std::vector<std::string>& child_args);

}  // namespace weft::bench
