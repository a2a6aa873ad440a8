// Internal: the process's stderr sink, run by the shared log thread only.
// Every write to fd 2 is bounded: a line that stderr does not take within
// kWriteBound (a pipe nobody reads, a stalled journald) is dropped, and so
// is every later line until stderr is writable again; dropped lines are
// counted, and the first line written after a loss says how many (queue
// overruns included). So the log thread never waits for ever, and flush()
// (log.cpp) is bounded even when stderr is not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <spdlog/formatter.h>
#include <spdlog/sinks/sink.h>

namespace spdlog::details {
class thread_pool;
}

namespace weft::logging::detail {

// Writes all of `data` to `fd` unless it stays unwritable for `bound` (or
// fails: EPIPE, ENOSPC); false then, with part of it maybe written.
bool write_within(int fd, const char* data, std::size_t size, std::chrono::milliseconds bound);

class StderrSink final : public spdlog::sinks::sink {
public:
  static constexpr std::chrono::milliseconds kWriteBound{1000};

  // `pool`: the log thread pool, whose queue overruns are reported with ours.
  // `fd`: 2 but for tests.
  explicit StderrSink(spdlog::details::thread_pool& pool, int fd = 2);

  void log(const spdlog::details::log_msg& msg) override;
  void flush() override;  // nothing is buffered; counts as progress
  void set_pattern(const std::string& pattern) override;
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override;

  // Lines dropped because stderr did not take them (not queue overruns).
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  // Lines handled (written or dropped) and flushes done: flush() tells a
  // stuck log thread from a slow one by it.
  std::uint64_t progress() const noexcept { return progress_.load(std::memory_order_acquire); }

private:
  bool write_bounded(const char* data, std::size_t size);

  spdlog::details::thread_pool& pool_;  // outlives us (log.cpp never destroys it)
  const int fd_;
  const bool color_;
  std::unique_ptr<spdlog::formatter> formatter_;
  bool blocked_ = false;                // the last write failed: do not wait again until writable
  std::uint64_t reported_lost_ = 0;     // log thread only
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> progress_{0};
};

}  // namespace weft::logging::detail
