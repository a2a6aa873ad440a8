// The raw SQLite baseline of `weft-bench store` (store_raw.cpp): the same
// rows in weft's schema by a plain loop of prepared inserts.
#pragma once

#include <cstdint>

#include "benches.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::bench {

struct RawResult {
  double seconds = 0;
  std::uint64_t rows = 0;
};
// --throughput-rows rows in batches of --batch-rows, in a fresh file under --dir.
RawResult raw_throughput(const StoreArgs& a, store::StoreOptions::Synchronous sync);

}  // namespace weft::bench
