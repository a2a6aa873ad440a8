// [realtime] of the config file → RealtimeOptions (weft/core/realtime.hpp).
// Only the reading and checking of the keys: the kernel is asked at start,
// by the runtime. Every key changes only at start (a reload refuses it).
//
//   [realtime]
//   lock_memory = true          # mlockall, heap never trimmed or mmapped
//   heap_reserve = "1MiB"       # touched at start (with lock_memory)
//   stack_reserve = "128KiB"    # of the loop thread's stack (with lock_memory)
//   policy = "fifo"             # "other" (default), "fifo", "rr": the loop thread only
//   priority = 80               # 1-99 (fifo, rr)
//   cpus = "1"                  # the loop thread's CPUs: "1", "0-1,3" or an integer
//   helper_cpus = "0"           # every other thread's CPUs
//   cpu_dma_latency = true      # hold /dev/cpu_dma_latency at 0
//   required = true             # a refusal by the kernel stops weftd (exit 6)
//   critical_allocations = "count"  # or "abort": new inside ctx.critical() (default: abort without NDEBUG)
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "weft/core/config.hpp"
#include "weft/core/realtime.hpp"

namespace weft::apps {

// "0-1,3" → {0, 1, 3}; nullopt for anything else (empty, reversed range,
// a CPU of 1024 or more, a duplicate).
std::optional<std::vector<int>> parse_cpu_list(std::string_view text);

// Absent [realtime]: the defaults (off).
RealtimeOptions read_realtime_config(const ConfigSection& root);

}  // namespace weft::apps
