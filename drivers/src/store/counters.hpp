// The store's counters, written by its threads and read from any thread
// (Store::counters() snapshots them for the console and the record service).
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::store {

struct AtomicCounters {
  std::atomic<std::uint64_t> rows_written{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> busy_retries{0};
  std::atomic<std::uint64_t> busy_episodes{0};
  std::atomic<std::uint64_t> pruned_delivered{0};
  std::atomic<std::uint64_t> pruned_undelivered{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> disk_full{0};
  std::atomic<std::uint64_t> db_size_bytes{0};
  std::atomic<std::int64_t> last_commit_latency_ns{0};
  std::atomic<std::uint64_t> committed_seq{0};
};

}  // namespace weft::store
