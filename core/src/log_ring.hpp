// Internal: the in-memory ring of recent log lines, an spdlog sink beside
// stderr on the shared log thread. Capacity kRingLines lines; when full the
// oldest line goes (overwrite-oldest). Written by the log thread, read by
// the console on the loop thread: both under the sink's mutex, held only to
// append one line or to copy the lines asked for.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

#include <spdlog/sinks/base_sink.h>

#include "weft/core/log.hpp"

namespace weft::logging::detail {

class LogRing final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit LogRing(std::size_t capacity) : capacity_(capacity) {}

  std::vector<LogLine> since(std::uint64_t after, std::size_t max, std::string_view logger);
  std::uint64_t last_seq();

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

private:
  std::size_t capacity_;
  std::deque<LogLine> lines_;  // oldest first; seq strictly increasing
  std::uint64_t seq_ = 0;
};

}  // namespace weft::logging::detail
