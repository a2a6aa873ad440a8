// Stackful services (asio::spawn on Boost.Context), for code that must
// suspend deep inside callbacks or third-party code. Supervised, cancelled
// and accounted exactly like C++20-coroutine services; their waits go
// through the same timer queue. Each run gets its own stack: stack_bytes
// (rounded up to whole pages) plus one guard page below it, mmap'd, so only
// the pages a run touches are resident. Overflowing it is a SIGSEGV that the
// crash report (crash_report.hpp) blames on the service.
#pragma once

#include <cstddef>
#include <functional>
#include <source_location>

#include <boost/asio/spawn.hpp>

#include "weft/core/context.hpp"
#include "weft/core/service.hpp"

namespace weft {

using StackfulMain = std::function<void(Context&, boost::asio::yield_context)>;

inline constexpr std::size_t kDefaultStackBytes = 64 * 1024;

ServiceSpec stackful_service(std::string name, std::vector<std::string> needs, RestartPolicy policy,
                             StackfulMain main, std::size_t stack_bytes = kDefaultStackBytes);

// The stackful counterparts of Context's waits. Cancel-safe.
void sleep(Context& ctx, Duration d, boost::asio::yield_context yield,
           std::source_location loc = std::source_location::current());
Tick next_tick(Ticker& ticker, Context& ctx, boost::asio::yield_context yield,
               std::source_location loc = std::source_location::current());

}  // namespace weft
