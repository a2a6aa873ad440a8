// Shared asynchronous sinks: one writer thread, queue of kQueueLines lines,
// overrun-oldest. Output goes to stderr (journald picks it up under systemd).
// When stderr is the journal (JOURNAL_STREAM: journal_stream.hpp) each line
// starts with its syslog priority "<N>" and has no time stamp of its own
// (the journal stamps it), so `journalctl -p warning` works; otherwise a
// line is "TIME LEVEL [logger] message".
// Only the log thread writes to stderr, each write bounded (log_stderr.hpp):
// a stderr that blocks (a full pipe nobody reads) costs lines, counted, and
// never a wait beyond a bound, here or in flush().
#include "weft/core/log.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/base_sink.h>

#include "journal_stream.hpp"
#include "log_ring.hpp"
#include "log_stderr.hpp"
#include "weft/core/realtime.hpp"

#include <spdlog/pattern_formatter.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <mutex>

namespace weft::logging {
namespace {

constexpr auto kFlushBound = std::chrono::seconds(5);

// Lines queued for the log thread. spdlog allocates and constructs every
// slot up front (an async_msg of 408 bytes each, its 250-byte inline buffer
// included), so this is resident memory from the first line: 8192 slots
// were 3.3 MiB of a demo box's 17 MiB (README: footprint); 1024 are 408 KiB.
// The trade: a burst of more than 1024 lines faster than the log thread
// writes them (one write(2) each) loses its oldest lines, counted and
// reported like any overrun; the console's `log tail` ring (kRingLines)
// is separate and unchanged.
constexpr std::size_t kQueueLines = 1024;

// %* in the journal pattern: "<N>", the level's syslog priority.
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char prefix[3] = {'<', detail::syslog_priority(msg.level), '>'};
    dest.append(prefix, prefix + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriorityFlag>(); }
};

struct Shared {
  std::shared_ptr<spdlog::details::thread_pool> pool =
      std::make_shared<spdlog::details::thread_pool>(kQueueLines, 1, [] { enter_helper_thread("weft-log"); });
  std::shared_ptr<detail::StderrSink> stderr_sink = std::make_shared<detail::StderrSink>(*pool);
  spdlog::sink_ptr sink = stderr_sink;
  std::shared_ptr<detail::LogRing> ring = std::make_shared<detail::LogRing>(kRingLines);
  std::atomic<spdlog::level::level_enum> level{spdlog::level::info};
  std::mutex mutex;
  std::vector<std::weak_ptr<spdlog::logger>> loggers;
  std::size_t live_after_prune = 0;
  // stderr_sink's progress when a flush last timed out; no progress since
  // means the log thread is still stuck, and the next flush does not wait.
  std::atomic<std::uint64_t> stuck_at{UINT64_MAX};
};

Shared& shared() {
  static Shared* s = [] {
    auto* p = new Shared;  // never destroyed: loggers may log during static destruction
    if (detail::is_journal_stream(2, std::getenv("JOURNAL_STREAM"))) {
      auto formatter = std::make_unique<spdlog::pattern_formatter>();
      formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%-5l [%n] %v");
      p->sink->set_formatter(std::move(formatter));
    } else {
      p->sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
    }
    return p;
  }();
  return *s;
}

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string& name) {
  Shared& s = shared();
  auto logger = std::make_shared<spdlog::async_logger>(name, spdlog::sinks_init_list{s.sink, s.ring}, s.pool,
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_level(s.level.load());
  logger->flush_on(spdlog::level::err);
  std::lock_guard lock(s.mutex);
  // Prune dead entries only when the list has doubled: O(1) amortised, so
  // creating 10,000 service loggers is linear, not quadratic.
  if (s.loggers.size() >= 2 * s.live_after_prune + 16) {
    std::erase_if(s.loggers, [](const auto& w) { return w.expired(); });
    s.live_after_prune = s.loggers.size();
  }
  s.loggers.push_back(logger);
  return logger;
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  for (const auto& [n, l] : kLevels)
    if (n == name) return l;
  return std::nullopt;
}

void set_default_level(spdlog::level::level_enum level) {
  Shared& s = shared();
  s.level = level;
  std::lock_guard lock(s.mutex);
  for (auto& w : s.loggers)
    if (auto l = w.lock()) l->set_level(level);
}

spdlog::level::level_enum default_level() noexcept { return shared().level.load(); }

std::uint64_t dropped_log_lines() noexcept {
  const Shared& s = shared();
  return s.pool->overrun_counter() + s.stderr_sink->dropped();
}

std::vector<LogLine> recent_lines(std::uint64_t after, std::size_t max, std::string_view logger) {
  return shared().ring->since(after, max, logger);
}
std::uint64_t last_line_seq() { return shared().ring->last_seq(); }

// spdlog 1.10's async flush only queues a request. The log thread is one
// FIFO, so when it runs a probe logger's flush, every line queued before is
// written; the probe's extra sink tells us so. Bounded: the request is
// queued overrun-oldest (never waits for room: with a stuck log thread the
// queue may stay full for ever), and the wait for it is kFlushBound.
bool flush() {
  struct FlushSignal final : spdlog::sinks::base_sink<std::mutex> {
    std::promise<void> flushed;
    bool signalled = false;
    void sink_it_(const spdlog::details::log_msg&) override {}
    void flush_() override {
      if (!std::exchange(signalled, true)) flushed.set_value();
    }
  };
  Shared& s = shared();
  if (s.stuck_at.load() == s.stderr_sink->progress()) return false;  // still stuck since the last timeout
  auto signal = std::make_shared<FlushSignal>();
  auto flushed = signal->flushed.get_future();
  auto probe = std::make_shared<spdlog::async_logger>("flush", spdlog::sinks_init_list{s.sink, signal}, s.pool,
                                                      spdlog::async_overflow_policy::overrun_oldest);
  probe->flush();
  if (flushed.wait_for(kFlushBound) == std::future_status::ready) return true;
  s.stuck_at.store(s.stderr_sink->progress());
  return false;
}

bool write_stderr(std::string_view text) {
  return detail::write_within(2, text.data(), text.size(), detail::StderrSink::kWriteBound);
}

}  // namespace weft::logging
