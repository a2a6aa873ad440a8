// Internal: whether stderr is systemd's journal. systemd sets
// JOURNAL_STREAM="DEV:INODE" (decimal st_dev and st_ino of the stream it
// connected to stderr/stdout); a process whose stderr still has that device
// and inode writes to the journal, one whose stderr was redirected (a child
// started with 2>file inherits the variable) does not (systemd.exec(5),
// "JOURNAL_STREAM"). Under the journal, log.cpp writes "<N>" syslog priority
// prefixes (sd-daemon(3)) and no time stamp: the journal stamps each line,
// and `journalctl -p warning` filters on the priority.
#pragma once

#include <optional>
#include <string_view>

#include <spdlog/common.h>

namespace weft::logging::detail {

// True when `journal_stream` (JOURNAL_STREAM's value; null: unset) is
// "DEV:INODE" and equals fd's st_dev:st_ino. A malformed value is false.
bool is_journal_stream(int fd, const char* journal_stream) noexcept;

// The syslog priority digit of a level: 7 debug/trace, 6 info, 4 warning,
// 3 err, 2 crit (sd-daemon(3) SD_DEBUG...SD_CRIT).
char syslog_priority(spdlog::level::level_enum level) noexcept;

}  // namespace weft::logging::detail
