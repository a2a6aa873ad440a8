// Test support for runtime-level tests: a Runtime on the virtual clock
// (no signal handling, reproducible jitter), a service's snapshot by name,
// and virtual time as milliseconds since the runtime started.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/system/system_error.hpp>

#include "weft/core/runtime.hpp"

namespace weft::test {

inline RuntimeOptions virtual_options(std::uint64_t seed = 12345) {
  RuntimeOptions options;
  options.virtual_time = true;
  options.handle_signals = false;
  options.seed = seed;  // reproducible backoff jitter
  return options;
}

// Virtual time since the runtime started, in whole milliseconds (readable in failures).
inline std::int64_t ms_since_start(MonoTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - VirtualClock::kStart).count();
}

inline ServiceSnapshot snapshot_of(const Runtime& runtime, const std::string& name) {
  for (auto& s : runtime.snapshot())
    if (s.name == name) return s;
  FAIL("no service named " << name << " in the snapshot");
  return {};
}

inline bool is_operation_aborted(const boost::system::system_error& e) {
  return e.code() == boost::asio::error::operation_aborted;
}

}  // namespace weft::test
