// Process logging: one spdlog logger per service, all sharing the process
// sinks. Loggers are asynchronous with a bounded queue that overwrites the
// oldest line when full, so logging never blocks the loop; lines lost that
// way are counted (dropped_log_lines()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

namespace spdlog {
class logger;
}

namespace weft::logging {

// A logger named `name` on the shared sinks, at the default level.
std::shared_ptr<spdlog::logger> make_logger(const std::string& name);

// Accepts trace, debug, info, warn, error, critical, off.
std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept;
void set_default_level(spdlog::level::level_enum level);
spdlog::level::level_enum default_level() noexcept;

std::uint64_t dropped_log_lines() noexcept;
// Waits (at most 5 s) until every line queued so far is written. At exit
// only: it blocks, so never on a running loop.
void flush();

}  // namespace weft::logging
