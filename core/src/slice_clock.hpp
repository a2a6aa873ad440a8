// How long the running service's current slice has held the loop thread
// (service_stats.cpp keeps the slice's start). For runtime waits that can
// complete at once (a bus receive with readings queued) to decide to yield
// the loop instead. Zero outside a service's slice. Loop thread only.
#pragma once

#include <chrono>

namespace weft::detail {

std::chrono::nanoseconds slice_elapsed() noexcept;

}  // namespace weft::detail
