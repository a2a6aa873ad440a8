// The ring of recent log lines (log_ring.hpp) and the formatting the console
// shows them in.
#include "log_ring.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace weft::logging::detail {

void LogRing::sink_it_(const spdlog::details::log_msg& msg) {
  if (lines_.size() >= capacity_) lines_.pop_front();
  LogLine line;
  line.seq = ++seq_;
  line.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(msg.time.time_since_epoch()).count();
  line.level = msg.level;
  line.logger.assign(msg.logger_name.data(), msg.logger_name.size());
  line.text.assign(msg.payload.data(), msg.payload.size());
  lines_.push_back(std::move(line));
}

std::vector<LogLine> LogRing::since(std::uint64_t after, std::size_t max, std::string_view logger) {
  std::lock_guard lock(mutex_);
  std::vector<LogLine> out;
  // Walk back from the newest: at most `max` lines are copied, whatever the ring holds.
  for (auto it = lines_.rbegin(); it != lines_.rend() && it->seq > after && out.size() < max; ++it)
    if (logger.empty() || it->logger == logger) out.push_back(*it);
  std::reverse(out.begin(), out.end());
  return out;
}

std::uint64_t LogRing::last_seq() {
  std::lock_guard lock(mutex_);
  return seq_;
}

}  // namespace weft::logging::detail

namespace weft::logging {

std::string format_line(const LogLine& line) {
  const std::time_t seconds = static_cast<std::time_t>(line.wall_ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03d", static_cast<int>((line.wall_ns / 1'000'000) % 1000));
  const auto level = spdlog::level::to_string_view(line.level);
  std::string out = std::string(stamp) + millis + "Z " + std::string(level.data(), level.size());
  out.append(out.size() < 30 ? 30 - out.size() : 1, ' ');
  out += "[" + line.logger + "] " + line.text;
  return out;
}

}  // namespace weft::logging
