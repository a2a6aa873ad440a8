// Reading back what a benchmark's weftd recorded: every stored reading of one
// point from the store's SQLite file (opened read-only, after weftd stopped),
// with the CLOCK_MONOTONIC time it was taken (one clock for both processes).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft::bench {

// (mono_ns, value) of every stored reading of `point`, in seq order. Throws
// std::runtime_error naming the file when it cannot be opened or read.
std::vector<std::pair<std::int64_t, double>> stored_readings(const std::string& db, const std::string& point);

}  // namespace weft::bench
