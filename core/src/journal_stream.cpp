// Whether stderr is the journal (journal_stream.hpp): JOURNAL_STREAM parsed
// as "DEV:INODE", compared with fstat of the fd.
#include "journal_stream.hpp"

#include <sys/stat.h>

#include <charconv>
#include <cstdint>
#include <algorithm>
#include <cstring>

namespace weft::logging::detail {

bool is_journal_stream(int fd, const char* journal_stream) noexcept {
  if (journal_stream == nullptr) return false;
  const char* end = journal_stream + std::strlen(journal_stream);
  const char* colon = std::find(journal_stream, end, ':');
  if (colon == end) return false;
  std::uintmax_t dev = 0;
  std::uintmax_t ino = 0;
  const auto d = std::from_chars(journal_stream, colon, dev);
  if (d.ec != std::errc() || d.ptr != colon || colon == journal_stream) return false;
  const auto i = std::from_chars(colon + 1, end, ino);
  if (i.ec != std::errc() || i.ptr != end || colon + 1 == end) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<std::uintmax_t>(st.st_dev) == dev && static_cast<std::uintmax_t>(st.st_ino) == ino;
}

char syslog_priority(spdlog::level::level_enum level) noexcept {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return '7';
    case spdlog::level::info: return '6';
    case spdlog::level::warn: return '4';
    case spdlog::level::err: return '3';
    case spdlog::level::critical: return '2';
    default: return '6';
  }
}

}  // namespace weft::logging::detail
