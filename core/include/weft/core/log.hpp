// Process logging: one spdlog logger per service, all sharing the process
// sinks. Loggers are asynchronous with a bounded queue that overwrites the
// oldest line when full, so logging never blocks the loop; lines lost that
// way are counted (dropped_log_lines(), the console's `mem`, heartbeat's
// log_lines_dropped) and, once stderr takes lines again, a warning line
// says how many were lost. Only the log thread writes to stderr, and none
// of its writes waits more than 1 s: a stderr that blocks for ever (a pipe
// nobody reads) costs log lines, counted the same way, never an exit.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>

#include "weft/core/fmt_extern.hpp"

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

// Lines lost since start: overwritten in a full queue, or not taken by stderr.
std::uint64_t dropped_log_lines() noexcept;

// The ring of recent lines (the console's `log tail`): the last kRingLines
// lines every logger wrote, kept in memory by the log thread, overwrite-oldest.
inline constexpr std::size_t kRingLines = 4096;
struct LogLine {
  std::uint64_t seq = 0;  // 1, 2, ... in the order the log thread wrote them
  std::int64_t wall_ns = 0;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string logger;
  std::string text;  // the message alone
};
// Lines with seq > `after`, oldest first: the newest `max` of them, only
// `logger`'s if it is not empty. Takes the ring's lock for the copy.
std::vector<LogLine> recent_lines(std::uint64_t after, std::size_t max, std::string_view logger = {});
std::uint64_t last_line_seq();
// "2026-01-31T12:00:00.000Z info   [gather] text" (UTC).
std::string format_line(const LogLine& line);
// Waits (at most 5 s) until every line queued so far is written; false if
// they were not (stderr blocked). After a timeout, later calls return false
// at once while the log thread has made no progress, so an exit path that
// flushes several times waits 5 s in all. At exit only: it blocks, so
// never on a running loop.
bool flush();
// Writes `text` straight to stderr, waiting at most 1 s for room: for the
// last words of a process (after flush()), which a blocked stderr must not
// turn into a process that never exits. False if not all of it went.
bool write_stderr(std::string_view text);

}  // namespace weft::logging
