// The bounded stderr sink (log_stderr.hpp): spdlog's pattern formatter and
// level colours (on a terminal only), written with poll(2) + write(2) so no
// write waits longer than kWriteBound and no stdio lock is ever held by a
// blocked log thread (std::cerr elsewhere cannot queue behind it).
#include "log_stderr.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>
#include <string_view>

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>

namespace weft::logging::detail {
namespace {

std::string_view level_colour(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "\033[37m";
    case spdlog::level::debug: return "\033[36m";
    case spdlog::level::info: return "\033[32m";
    case spdlog::level::warn: return "\033[33m\033[1m";
    case spdlog::level::err: return "\033[31m\033[1m";
    case spdlog::level::critical: return "\033[1m\033[41m";
    default: return "";
  }
}

}  // namespace

StderrSink::StderrSink(spdlog::details::thread_pool& pool, int fd)
    : pool_(pool), fd_(fd), color_(::isatty(fd) == 1), formatter_(std::make_unique<spdlog::pattern_formatter>()) {}

void StderrSink::log(const spdlog::details::log_msg& msg) {
  const std::uint64_t lost = pool_.overrun_counter() + dropped();
  if (lost > reported_lost_) {
    const std::string text = std::to_string(lost - reported_lost_) +
                             " log lines lost (the log queue was full, or stderr did not take them); " +
                             std::to_string(lost) + " since start";
    spdlog::memory_buf_t note;
    formatter_->format(spdlog::details::log_msg(msg.time, {}, "log", spdlog::level::warn, text), note);
    if (write_bounded(note.data(), note.size())) reported_lost_ = lost;
  }
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  bool ok = true;
  if (color_ && msg.color_range_end > msg.color_range_start) {
    const std::string_view colour = level_colour(msg.level);
    constexpr std::string_view reset = "\033[m";
    ok = write_bounded(line.data(), msg.color_range_start) && write_bounded(colour.data(), colour.size()) &&
         write_bounded(line.data() + msg.color_range_start, msg.color_range_end - msg.color_range_start) &&
         write_bounded(reset.data(), reset.size()) &&
         write_bounded(line.data() + msg.color_range_end, line.size() - msg.color_range_end);
  } else {
    ok = write_bounded(line.data(), line.size());
  }
  if (!ok) dropped_.fetch_add(1, std::memory_order_relaxed);
  progress_.fetch_add(1, std::memory_order_release);
}

void StderrSink::flush() { progress_.fetch_add(1, std::memory_order_release); }

void StderrSink::set_pattern(const std::string& pattern) {
  formatter_ = std::make_unique<spdlog::pattern_formatter>(pattern);
}

void StderrSink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) { formatter_ = std::move(formatter); }

bool StderrSink::write_bounded(const char* data, std::size_t size) {
  // Once a wait has timed out, later lines wait not at all until a poll
  // finds stderr writable again.
  const bool ok = write_within(fd_, data, size, blocked_ ? std::chrono::milliseconds(0) : kWriteBound);
  blocked_ = !ok;
  return ok;
}

// Pieces of at most PIPE_BUF bytes, each after poll() says there is room:
// a pipe that polls writable has PIPE_BUF free, so such a write does not
// block.
bool write_within(int fd, const char* data, std::size_t size, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || (p.revents & POLLOUT) == 0) return false;  // timed out, or an error (closed, EPIPE)
    const ssize_t n = ::write(fd, data, std::min<std::size_t>(size, PIPE_BUF));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;  // ENOSPC on a file, EPIPE
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace weft::logging::detail
